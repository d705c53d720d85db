import { expect, test } from "bun:test";
import { formatReport } from "../../../src/control/report-format.ts";
import { job } from "./fake-target.ts";

test("header and one line per job: name, e|d, seconds, pid, cmd path", () => {
  const text = formatReport("box1", [
    job("web", { pid: 4242, sinceStartMs: 61_999, cmd: "/usr/sbin/nginx" }),
    job("off", { state: "disabled", enabled: false, pid: null, sinceStartMs: 3_000 }),
    job("never", { state: "waiting", pid: null, sinceStartMs: null }),
  ]);
  expect(text).toBe("report box1\nweb e 61 4242 /usr/sbin/nginx\noff d 3 0 /bin/off\nnever e 0 0 /bin/never\n");
});

test("no jobs: the header alone", () => {
  expect(formatReport("h", [])).toBe("report h\n");
});

test("a clock step backwards never reports negative seconds", () => {
  expect(formatReport("h", [job("a", { sinceStartMs: -500 })])).toBe("report h\na e 0 1000 /bin/a\n");
});
