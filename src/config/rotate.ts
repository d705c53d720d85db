// SPEC §13 `rotate SIZE [keep N]`: SIZE is a positive integer with K, M or G (KiB, MiB, GiB);
// N (default 5) is how many old files are kept, at least 1.

import type { ErrorList } from "./errors.ts";
import type { DraftJob } from "./job-draft.ts";
import type { Token } from "./lexer.ts";
import { DEFAULT_ROTATE_KEEP } from "./defaults.ts";
import { cut, show } from "./show.ts";
import { isWord, shownWords, value } from "./take.ts";
import * as v from "./values.ts";

const UNIT_BYTES = { K: 1024, M: 1024 ** 2, G: 1024 ** 3 } as const;
/** 1 TiB: larger is not a log anyone rotates, and the byte count stays an exact number. */
const MAX_ROTATE_BYTES = 1024 ** 4;

const size: v.ValueSchema<number> = v.text((s, ctx) => {
  const m = /^(\d+)([KMG])?$/.exec(s);
  if (!m) return v.fail(ctx, `rotate ${show(s)} is not a size (expected a positive integer and K, M or G, e.g. 10M)`);
  const [, digits = "", unit] = m;
  if (unit === undefined) return v.fail(ctx, `rotate ${cut(s)} needs a unit: K, M or G (e.g. ${cut(s)}M)`);
  const bytes = Number(digits) * UNIT_BYTES[unit as keyof typeof UNIT_BYTES];
  if (bytes <= 0) return v.fail(ctx, `rotate ${cut(s)} must be positive`);
  if (bytes > MAX_ROTATE_BYTES) return v.fail(ctx, `rotate ${cut(s)} is larger than the maximum of 1024G`);
  return bytes;
});

const keep = v.integer("rotate keep", 1, 1000);

export function rotate(job: DraftJob, words: readonly Token[], keyword: Token, errors: ErrorList, usage: string): undefined {
  const [sizeTok, keepWord, keepTok] = words;
  if (!sizeTok || !(words.length === 1 || (words.length === 3 && isWord(keepWord, "keep") && keepTok))) {
    errors.add(keyword.line, `rotate must be written ${usage} (got ${words.length === 0 ? "nothing" : shownWords(words)})`);
    return undefined;
  }
  const maxBytes = value(size, sizeTok, errors);
  const kept = keepTok ? value(keep, keepTok, errors) : DEFAULT_ROTATE_KEEP;
  if (maxBytes !== null && kept !== null) job.rotate = { maxBytes, keep: kept };
  return undefined;
}
