// The control socket fuzzed end to end: thousands of connections to dist/pmtr's socket, 200 at
// a time, carrying random bytes, oversized and endless streams, requests cut short or never
// finished, connections opened and dropped, and near-valid requests (wrong types, unknown
// names, a valid request smuggled after the first line, prototype keys, deep nesting,
// mutations of real commands). Afterwards pmtr is alive, every job has the pid it had, its
// fd count is back to where it was and its RSS has not grown without bound; `pmtr status`
// still answers and a valid `pmtr stop` still acts. Seeded: PMTR_FUZZ_SEED=N reproduces a run.

import { describe, expect, test } from "bun:test";
import net from "node:net";
import { isAlive, join, rmSync, runPmtr, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";
import { fdCount, MiB, randomSource, rssKiB } from "./security-fuzz-lib.ts";

const SEED = Number(process.env.PMTR_FUZZ_SEED ?? 20261130);
/** The same storm this many times (PMTR_FUZZ_ROUNDS, default 2): memory that keeps growing
 *  shows between the rounds, a one-time warm-up (JIT, allocator arenas) does not. */
const ROUNDS = Math.max(2, Number(process.env.PMTR_FUZZ_ROUNDS ?? 2));
const JOBS = ["alpha", "beta", "gamma"];
/** protocol.ts MAX_MESSAGE_BYTES */
const MAX_MESSAGE = 64 * 1024;
const CONCURRENT = 200;

const enc = (s: string) => new TextEncoder().encode(s);

/** One client: what it sends and how it ends. */
interface Client {
  /** Written in this many pieces, a few ms apart. */
  readonly chunks: Uint8Array[];
  /** "end": half-close after writing and read the answer; "hold": keep the connection open
   *  without finishing, then drop it; "drop": close at once after writing. */
  readonly ending: "end" | "hold" | "drop";
}

const stop = (names: unknown) => `{"op":"stop","names":${JSON.stringify(names)}}`;

/** Hand-written near misses; none may act on a job. */
const NEAR_VALID: string[] = [
  "", "\n", "\r\n", " \n", "{}\n", "[]\n", "null\n", "\"stop\"\n", "1e999999\n", "-0\n", "true\n",
  '{"op":"stop"}\n', `${stop([])}\n`, `${stop("alpha")}\n`, `${stop(["alpha", "nosuch"])}\n`, `${stop(["alpha "])}\n`,
  `${stop(["alpha\u0000"])}\n`, `${stop(["ALPHA"])}\n`, `${stop(["ålpha"])}\n`, `${stop(["alpha\u00a0"])}\n`, `${stop([["alpha"]])}\n`,
  `${stop([{ name: "alpha" }])}\n`, `${stop(["a".repeat(1025)])}\n`, `${stop(Array(8000).fill("x"))}\n`,
  '{"op":"STOP","names":["alpha"]}\n', '{"op":["stop"],"names":["alpha"]}\n', '{"op":"stop ","names":["alpha"]}\n',
  '{"op":"signal","signal":"KILLX","names":["alpha"]}\n', '{"op":"signal","names":["alpha"]}\n',
  '{"op":"signal","signal":9.5,"names":["alpha"]}\n', '{"op":"signal","signal":"KILL","names":["alpha","nosuch"]}\n',
  '{"op":"signal","signal":"KILL","names":[]}\n', '{"op":"restart","names":["alpha","alpha","nosuch"]}\n',
  `[${stop(["alpha"])}]\n`, `{"__proto__":${stop(["alpha"])}}\n`, `{"constructor":{"prototype":${stop(["alpha"])}}}\n`,
  `{"op":"__proto__","names":["alpha"]}\n`, `{"op":"toString","names":["alpha"]}\n`,
  // A valid request never finished (no newline), or pushed past the size bound before its newline.
  stop(["alpha"]), `${stop(["alpha"])}${" ".repeat(MAX_MESSAGE)}\n`, `${stop(["alpha"])}\0\n`,
  // Only the first line of a connection is read: what follows it must not act.
  `{"op":"status"}\n${stop(["alpha"])}\n`, `\n${stop(["alpha"])}\n`, `not json\n${stop(["alpha"])}\n`,
  `${"[".repeat(60_000)}\n`, `${"{\"a\":".repeat(10_000)}1${"}".repeat(10_000)}\n`, `"${"\\u0000".repeat(10_000)}"\n`,
];

/** Could pmtr act on a job for this, under a loose reading: the first line (or the first 64 KiB)
 *  decoded leniently is JSON naming a real job anywhere, or asks for a reload. Mutations for
 *  which this says yes are not sent, so pmtr acting on a sent request is a bug. */
function mightAct(bytes: Uint8Array): boolean {
  const text = new TextDecoder().decode(bytes.subarray(0, MAX_MESSAGE + 1));
  const line = text.split("\n")[0]!;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return false;
  }
  const flat = JSON.stringify(value).toLowerCase();
  return flat.includes("reload") || JOBS.some((job) => flat.includes(job));
}

function clients(seed: number): Client[] {
  const r = randomSource(seed);
  const split = (bytes: Uint8Array): Uint8Array[] => {
    const pieces = 1 + r.int(4);
    const cuts = Array.from({ length: pieces - 1 }, () => r.int(bytes.length + 1)).sort((a, b) => a - b);
    return [0, ...cuts, bytes.length].slice(1).map((end, i, ends) => bytes.subarray(i === 0 ? 0 : ends[i - 1]!, end));
  };
  const client = (bytes: Uint8Array, ending: Client["ending"] = r.pick(["end", "end", "hold", "drop"] as const)): Client => ({ chunks: split(bytes), ending });
  const valid = [stop(["alpha"]), '{"op":"restart","names":["beta","gamma"]}', '{"op":"signal","signal":"TERM","names":["alpha"]}', '{"op":"start","names":["gamma"]}'].map((s) => enc(`${s}\n`));
  const out: Client[] = [];
  for (const text of NEAR_VALID) for (const ending of ["end", "hold", "drop"] as const) out.push(client(enc(text), ending));
  for (let i = 0; i < 300; i++) out.push({ chunks: [], ending: r.pick(["end", "drop"] as const) });
  for (let i = 0; i < 1500; i++) out.push(client(r.bytes(1 + r.int(5000))));
  for (let i = 0; i < 40; i++) out.push(client(r.bytes(MAX_MESSAGE + 1 + r.int(200_000)), "end"));
  for (let i = 0; i < 1200; i++) {
    const mutated = r.mutate(r.pick(valid));
    if (!mightAct(mutated)) out.push(client(mutated));
  }
  for (let i = 0; i < 200; i++) {
    const mutated = r.mutate(enc(r.pick(NEAR_VALID.filter((t) => t.length < 5000))));
    if (!mightAct(mutated)) out.push(client(mutated));
  }
  // Shuffled, so that every wave mixes kinds.
  for (let i = out.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** Runs one client; resolves with what pmtr answered (possibly nothing). */
function run(sock: string, c: Client): Promise<string> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: sock });
    let answer = "";
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(answer);
    };
    // pmtr answers a finished request within milliseconds; this only bounds a client that
    // holds its connection (pmtr's own idle limit is 30 s).
    const timer = setTimeout(finish, c.ending === "hold" ? 300 : 3000);
    s.on("data", (d) => (answer += d.toString()));
    s.on("error", finish);
    s.on("close", finish);
    s.on("connect", async () => {
      for (const chunk of c.chunks) {
        if (done) return;
        s.write(chunk);
        if (c.chunks.length > 1) await Bun.sleep(1);
      }
      if (c.ending === "end") s.end();
      else if (c.ending === "drop") finish();
    });
  });
}

describe("the control socket: malformed messages of any size and content", () => {
  test("cannot crash pmtr, grow it, leak fds or act on a job; pmtr status and a valid stop still work afterwards", async () => {
    const dir = tempDir("pmtr-sec-sock-");
    const sock = join(dir, "pmtr.sock");
    const conf = writeConfig(dir, JOBS.map((n) => `job {\n  name ${n}\n  cmd /bin/sleep 600\n}\n`).join(""));
    const all = clients(SEED);
    try {
      await withPmtr(["-F", "-c", conf, "-s", sock], {}, async (p) => {
        for (const n of JOBS) await p.waitLog(new RegExp(`: started job ${n} \\[\\d+\\]$`, "m"));
        const pids = Object.fromEntries(JOBS.map((n) => [n, startedPids(p.stderr, n)]));
        expect((await runPmtr(["-s", sock, "status"])).code).toBe(0);
        const before = { rss: rssKiB(p.pid), fds: fdCount(p.pid) };
        const rssAfterRound: number[] = [];
        const answers: string[] = [];
        let peakFds = before.fds;
        for (let round = 0; round < ROUNDS; round++) {
          for (let i = 0; i < all.length; i += CONCURRENT) {
            const wave = all.slice(i, i + CONCURRENT).map((c) => run(sock, c));
            peakFds = Math.max(peakFds, fdCount(p.pid));
            answers.push(...(await Promise.all(wave)));
          }
          await waitFor(`pmtr's fds back to ${before.fds} (now ${fdCount(p.pid)})`, () => fdCount(p.pid) <= before.fds, 10_000);
          rssAfterRound.push(rssKiB(p.pid));
        }
        const after = { rss: rssKiB(p.pid), fds: fdCount(p.pid) };
        const answered = answers.filter((a) => a !== "");
        const figures = `${all.length} connections x ${ROUNDS} rounds, ${CONCURRENT} at a time (seed ${SEED}), ${answered.length} answered; RSS ${MiB(before.rss)} before, ${rssAfterRound.map(MiB).join(" and ")} after each round; fds ${before.fds} -> peak ${peakFds} -> ${after.fds}`;
        console.log(`control socket fuzz: ${figures}`);

        expect(isAlive(p.pid)).toBe(true);
        for (const n of JOBS) {
          expect([n, startedPids(p.stderr, n)]).toEqual([n, pids[n]!]);
          expect([n, isAlive(pids[n]![0]!)]).toEqual([n, true]);
        }
        expect(p.stderr).not.toMatch(/internal error|stopping job|sending SIG|control: (stop|start|restart|signal)|rescanning|^\s+at |TypeError|RangeError/m);
        // Every answer is one JSON line refusing the request, or a status (the smuggling case).
        for (const a of answered) {
          const response = JSON.parse(a);
          expect([a.endsWith("\n"), response.ok === false || response.op === "status"]).toEqual([true, true]);
        }
        expect(after.fds).toBeLessThanOrEqual(before.fds);
        expect(rssAfterRound.at(-1)! - rssAfterRound[0]!, figures).toBeLessThan(16 * 1024);
        expect(after.rss - before.rss, figures).toBeLessThan(96 * 1024);

        // Still serving, and a valid request still acts.
        const status = await runPmtr(["-s", sock, "status"]);
        expect(status.code).toBe(0);
        const stopped = await runPmtr(["-s", sock, "stop", "beta"], { timeoutMs: 20_000 });
        expect(stopped.code).toBe(0);
        await waitFor("beta gone", () => !isAlive(pids.beta![0]!));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000 + 30_000 * ROUNDS);
});
