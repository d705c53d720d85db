// `listen on` fuzzed end to end: thousands of datagrams that are not valid control messages
// (empty, 64 KiB, random binary, random text, near-valid forms, mutations of real commands) sent
// to dist/pmtr. Afterwards pmtr is alive, every job has the pid it had, its fd count is where it
// was and its RSS has not grown without bound; then valid commands still work, which shows the
// listener was alive all along. Seeded: PMTR_FUZZ_SEED=N reproduces a run.
//
// Pacing: after each batch the test sends `enable marker` (a running job: a no-op that pmtr
// always logs) and waits for pmtr to log it. Datagrams from one socket arrive in order, so
// every datagram of the batch has been handled by then, and the batches stay within the
// socket's receive buffer, so none is dropped. pmtr logs the first 20 ignored datagrams a
// minute and counts the rest (ignored-log.ts); at exit it says how many it did not log, which
// accounts for every datagram sent.

import { describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { isAlive, join, rmSync, startedPids, tempDir, waitFor, withPmtr, writeConfig } from "../helpers.ts";
import { fdCount, MiB, randomSource, rssKiB } from "./security-fuzz-lib.ts";

const SEED = Number(process.env.PMTR_FUZZ_SEED ?? 20261130);
/** The same storm this many times (PMTR_FUZZ_ROUNDS, default 2): memory that keeps growing
 *  shows between the rounds, a one-time warm-up (JIT, allocator arenas) does not. */
const ROUNDS = Math.max(2, Number(process.env.PMTR_FUZZ_ROUNDS ?? 2));
const JOBS = ["alpha", "beta", "gamma", "marker"];
/** The largest UDP payload over IPv4. */
const MAX_UDP = 65507;
/** Well under the default receive buffer (rmem_default, 208 KiB), so that none is dropped: the
 *  kernel charges a datagram its allocation (up to twice its size) plus ~1-2 KiB of overhead. */
const BATCH_BYTES = 64 * 1024;
const BURST = 20;

const enc = (s: string) => new TextEncoder().encode(s);

/** Hand-written near misses: each is not a valid command, or names no real job, or is refused
 *  as a whole; none may change a job. */
const NEAR_VALID: Uint8Array[] = [
  "", " ", "\n", "\r\n", "enable", "disable", "enable ", "disable\n", "enable\t\n",
  "enable\0alpha", "disable alpha\0", "disable\0alpha", "\0disable alpha", "disable alpha\x01",
  "disable\valpha", "disable\falpha", "disable\x1b[2Jalpha", "disable alpha\x7f", "disable alpha\x1b]0;owned\x07",
  "disable\u00a0alpha", "disable\u2028alpha", "disable\u2029alpha", "disable\u3000alpha", "disable\u1680alpha",
  "disable\u2003alpha", "disable\u202falpha", "disable\u205falpha", "disable\u0085alpha",
  "disable\ufeffalpha", "disable alpha\u200b", "disable \u202ealpha", "disable al\u200dpha",
  "DISABLE alpha", "Disable alpha", "disable ALPHA", "disable alph", "disable alphaa", "disable 'alpha'", "disable \"alpha\"",
  "disable alpha enable", "enable beta disable", "disable alpha disable", "alpha disable", "alpha", "beta gamma",
  "disable ../alpha", "disable alpha%00", "disable alpha\\0", "disable alpha;", "disable alpha\ndisable",
  "enable 🚀", "disable ünïcödé", "disable \ud800", "enable " + "é".repeat(999), "disable alpha" + " ".repeat(2000),
  `disable ${"alpha ".repeat(400)}`, `enable ${"x".repeat(1993)}`,
].map(enc).concat([
  Uint8Array.from([...enc("disable"), 0xc0, 0xa0, ...enc("alpha")]), // overlong space
  Uint8Array.from([...enc("disable "), 0xff, 0xfe, ...enc(" alpha")]),
  Uint8Array.from([...enc("disable "), 0xed, 0xa0, 0x80, ...enc(" alpha")]), // a surrogate in UTF-8
  Uint8Array.from([...enc("disable alpha"), 0xe2, 0x80]), // cut multibyte character
  new Uint8Array(1), new Uint8Array(2000), new Uint8Array(2001), new Uint8Array(MAX_UDP),
  enc("enable alpha ".repeat(Math.floor(MAX_UDP / 13))), // valid words, oversized
]);

/**
 * Could pmtr take this as a command that changes a real job, under the loosest reading: any
 * Unicode whitespace, control or format character separates words, letter case is ignored, and
 * an `enable`/`disable` anywhere before a real job's name counts. Random datagrams for which this
 * says yes are not sent: the test is about malformed input. It is looser than pmtr's parser, so
 * pmtr acting on a datagram sent here is a bug, never bad luck.
 */
function mightAct(bytes: Uint8Array): boolean {
  const words = new TextDecoder().decode(bytes).toLowerCase().split(/[\s\p{Cc}\p{Cf}\p{Z}\ufffd]+/u);
  const verb = words.findIndex((w) => w === "enable" || w === "disable");
  return verb >= 0 && words.slice(verb + 1).some((w) => JOBS.includes(w));
}

function datagrams(seed: number): Uint8Array[] {
  const r = randomSource(seed);
  const out: Uint8Array[] = [...NEAR_VALID];
  const printable = () => {
    const n = 1 + r.int(300);
    let s = "";
    for (let i = 0; i < n; i++) s += r.pick([" ", "\t", "\n", "e", "n", "a", "b", "l", "d", "i", "s", "x", String.fromCharCode(33 + r.int(94))]);
    return enc(s);
  };
  const valid = ["enable alpha", "disable beta", "enable alpha beta disable gamma", "disable gamma\n", "enable\tbeta"].map(enc);
  for (let i = 0; i < 50; i++) out.push(new Uint8Array(0));
  for (let i = 0; i < 25; i++) out.push(r.bytes(MAX_UDP));
  for (let i = 0; i < 25; i++) out.push(r.bytes(2001 + r.int(MAX_UDP - 2001)));
  for (let i = 0; i < 1500; i++) out.push(r.bytes(1 + r.int(3000)));
  for (let i = 0; i < 1000; i++) out.push(printable());
  for (let i = 0; i < 2500; i++) out.push(r.mutate(r.pick(valid)));
  for (let i = 0; i < 500; i++) out.push(r.mutate(r.pick(NEAR_VALID.filter((d) => d.length < 3000))));
  return out.filter((d, i) => i < NEAR_VALID.length || !mightAct(d));
}

describe("listen on: malformed datagrams of any size and content", () => {
  test("cannot crash pmtr, grow it, leak fds or change a job; valid commands still work afterwards", async () => {
    const dir = tempDir("pmtr-sec-udp-");
    const probe = dgram.createSocket("udp4");
    await new Promise<void>((r) => probe.bind(0, "127.0.0.1", r));
    const port = probe.address().port;
    probe.close();
    const conf = writeConfig(dir, `listen on udp://127.0.0.1:${port}\n${JOBS.map((n) => `job {\n  name ${n}\n  cmd /bin/sleep 600\n}\n`).join("")}`);
    const sender = dgram.createSocket("udp4");
    await new Promise<void>((r) => sender.bind(0, "127.0.0.1", r));
    const send = (bytes: Uint8Array) => new Promise<void>((resolve, reject) => sender.send(bytes, port, "127.0.0.1", (e) => (e ? reject(e) : resolve())));
    const all = datagrams(SEED);
    try {
      await withPmtr(["-F", "-c", conf, "-s", join(dir, "pmtr.sock")], {}, async (p) => {
        for (const n of JOBS) await p.waitLog(new RegExp(`: started job ${n} \\[\\d+\\]$`, "m"));
        const pids = Object.fromEntries(JOBS.map((n) => [n, startedPids(p.stderr, n)]));
        // The listener is bound once a datagram sent to it is logged. pmtr binds it after it has
        // started its jobs (node:dgram is loaded only when `listen on` is configured), and a
        // datagram sent before that is simply lost: the first marker is sent until one arrives.
        const markers = () => p.count(/: udp control from 127\.0\.0\.1:\d+: enable marker$/);
        await waitFor(`pmtr's UDP listener to log a first marker (seed ${SEED})`, async () => {
          if (markers() > 0) return true;
          await send(enc("enable marker"));
          return false;
        }, 10_000, 100);
        let marks = markers();
        const mark = async () => {
          marks = markers() + 1;
          await send(enc("enable marker"));
          await waitFor(`pmtr to log marker ${marks} (seed ${SEED})`, () => markers() >= marks, 10_000, 2);
        };
        const before = { rss: rssKiB(p.pid), fds: fdCount(p.pid) };
        const rssAfterRound: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          let batch = 0;
          for (const d of all) {
            const cost = d.length + 2048; // a 64 KiB datagram goes alone
            if (batch > 0 && batch + cost > BATCH_BYTES) {
              await mark();
              batch = 0;
            }
            await send(d);
            batch += cost;
          }
          await mark();
          rssAfterRound.push(rssKiB(p.pid));
        }
        const after = { rss: rssKiB(p.pid), fds: fdCount(p.pid) };
        const figures = `${all.length} datagrams x ${ROUNDS} rounds in ${marks} batches (seed ${SEED}); RSS ${MiB(before.rss)} before, ${rssAfterRound.map(MiB).join(" and ")} after each round; fds ${before.fds} -> ${after.fds}`;
        console.log(`udp fuzz: ${figures}`);

        expect(isAlive(p.pid)).toBe(true);
        for (const n of JOBS) {
          expect([n, startedPids(p.stderr, n)]).toEqual([n, pids[n]!]);
          expect([n, isAlive(pids[n]![0]!)]).toEqual([n, true]);
        }
        expect(p.stderr).not.toMatch(/internal error|stopping job|sending SIG|^\s+at |TypeError|RangeError/m);
        expect(after.fds).toBeLessThanOrEqual(before.fds);
        // Bounded: the second round, the same work again, may not add more than a few MiB.
        expect(rssAfterRound.at(-1)! - rssAfterRound[0]!, figures).toBeLessThan(8 * 1024);
        expect(after.rss - before.rss, figures).toBeLessThan(64 * 1024);

        // Still listening, and a valid command still acts.
        await send(enc("disable beta"));
        await p.waitLog(`: stopping job beta: disabled\n`);
        await send(enc("enable beta\n"));
        await waitFor("beta started again", () => startedPids(p.stderr, "beta").length === 2);

        // Every datagram was received and ignored: those logged one by one (BURST a minute)
        // and those counted, which pmtr reports at the latest when it exits.
        expect(await p.stop()).toBe(0);
        const counted = Array.from(p.stderr.matchAll(/: (\d+) more ignored control datagrams? not logged one by one/g), (m) => Number(m[1]));
        const shown = ROUNDS * all.length - counted.reduce((a, b) => a + b, 0);
        console.log(`udp fuzz: ${shown} ignored datagrams logged one by one, ${ROUNDS * all.length - shown} counted in ${counted.length} line(s)`);
        expect(shown % BURST).toBe(0);
        expect(shown / BURST).toBeGreaterThanOrEqual(1);
        expect(shown / BURST).toBeLessThanOrEqual(counted.length);
      });
    } finally {
      sender.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000 + 30_000 * ROUNDS);
});
