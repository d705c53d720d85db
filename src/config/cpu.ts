// `cpu`: the affinity set, as a list with ranges (`0,2-4`, the format of taskset -c and
// /sys/.../cpulist) or a hex mask (`0x15`, the format of taskset). Both become the sorted,
// unique CPU numbers of the model, so `cpu 0,2,4` and `cpu 0x15` are the same job.

import { cut, show } from "./show.ts";
import { fail, text, type ValueSchema } from "./values.ts";

/** glibc's CPU_SETSIZE: sched_setaffinity with a cpu_set_t cannot name a CPU beyond it. */
export const MAX_CPUS = 1024;

const EXPECTED = "expected a list such as 0,2-4 or a hex mask such as 0x15";

export const cpuSet: ValueSchema<number[]> = text((s, ctx) => {
  const parsed = /^0[xX]/.test(s) ? fromMask(s) : fromList(s);
  return typeof parsed === "string" ? fail(ctx, parsed) : parsed;
});

/** The CPU numbers, or an error message. */
function fromMask(s: string): number[] | string {
  const hex = s.slice(2);
  if (!/^[0-9a-fA-F]+$/.test(hex)) return `cpu ${show(s)} is not a hex mask (${EXPECTED})`;
  const cpus: number[] = [];
  // Lowest CPU is the last hex digit.
  for (let d = 0; d < hex.length; d++) {
    const nibble = parseInt(hex[hex.length - 1 - d] ?? "0", 16);
    for (let bit = 0; bit < 4; bit++) if (nibble & (1 << bit)) cpus.push(d * 4 + bit);
  }
  if (cpus.length === 0) return `cpu ${cut(s)} selects no CPU (${EXPECTED})`;
  const last = cpus[cpus.length - 1] ?? 0;
  if (last >= MAX_CPUS) return `cpu ${show(s)} names CPU ${last}, beyond the maximum ${MAX_CPUS - 1}`;
  return cpus;
}

function fromList(s: string): number[] | string {
  const set = new Set<number>();
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return `cpu ${show(s)} is not a valid CPU list (${EXPECTED})`;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return `cpu range ${cut(part)} is reversed (write ${to}-${from})`;
    if (to >= MAX_CPUS) return `cpu ${to} is out of range 0..${MAX_CPUS - 1}`;
    for (let c = from; c <= to; c++) set.add(c);
  }
  return [...set].sort((a, b) => a - b);
}
