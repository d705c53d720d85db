import { describe, expect, test } from "bun:test";
import { IGNORED_BURST, IGNORED_WINDOW_MS, IgnoredLog } from "../../../src/control/ignored-log.ts";

function setup() {
  const lines: string[] = [];
  let clock = 0;
  let timer: { fire: () => void; at: number } | null = null;
  const ignored = new IgnoredLog({
    log: (level, message) => void lines.push(`${level}: ${message}`),
    now: () => clock,
    setTimer: (fire, ms) => {
      const t = { fire, at: clock + ms };
      timer = t;
      return () => {
        if (timer === t) timer = null;
      };
    },
  });
  const advance = (ms: number) => {
    clock += ms;
    const t = timer;
    if (t && t.at <= clock) {
      timer = null;
      t.fire();
    }
  };
  return { ignored, lines, advance, timerSet: () => timer !== null };
}

describe("IgnoredLog: datagrams that change nothing, logged at a bounded rate", () => {
  test("the first BURST of a window in full, every line; the rest counted and summed up when the window ends", () => {
    const { ignored, lines, advance, timerSet } = setup();
    for (let i = 0; i < IGNORED_BURST; i++) ignored.datagram([["warning", `junk ${i}`], ["info", `more ${i}`]]);
    expect(lines).toHaveLength(2 * IGNORED_BURST);
    expect(timerSet()).toBe(false);
    for (let i = 0; i < 1000; i++) ignored.datagram([["warning", "flood"]]);
    expect(lines).toHaveLength(2 * IGNORED_BURST);
    advance(IGNORED_WINDOW_MS - 1);
    expect(lines).toHaveLength(2 * IGNORED_BURST);
    advance(1);
    expect(lines.at(-1)).toBe(`warning: 1000 more ignored control datagrams not logged one by one (at most ${IGNORED_BURST} a minute are)`);
    // A new window: logged in full again.
    ignored.datagram([["warning", "after"]]);
    expect(lines.at(-1)).toBe("warning: after");
  });

  test("a quiet window arms no timer; flush at close mentions what was held back", () => {
    const { ignored, lines, timerSet } = setup();
    ignored.datagram([["warning", "one"]]);
    expect(timerSet()).toBe(false);
    ignored.flush();
    expect(lines).toEqual(["warning: one"]);
    for (let i = 0; i < IGNORED_BURST; i++) ignored.datagram([["warning", "x"]]);
    ignored.flush();
    expect(lines.at(-1)).toBe(`warning: 1 more ignored control datagram not logged one by one (at most ${IGNORED_BURST} a minute are)`);
    expect(timerSet()).toBe(false);
  });
});
