import { expect, test } from "bun:test";
import { readiness } from "../../../src/control/readyz-format.ts";

const j = (name: string, state: string, ready = state === "running", reason = "") => ({ name, state, ready, reason });

test("ready when every job meant to run is running and ready; disabled, stopped and done do not count", () => {
  expect(readiness([j("a", "running"), j("b", "done"), j("c", "stopped"), j("d", "disabled")])).toEqual({ ready: true, text: "ready: 1 job running\n" });
  expect(readiness([])).toEqual({ ready: true, text: "ready: 0 jobs running\n" });
});

test("running but not ready, starting, backoff, waiting and failed each make it not ready, with the reason", () => {
  const r = readiness([
    j("web", "running", false),
    j("db", "starting", false, "not ready yet (tcp 127.0.0.1:5432), 4 s of 60 s"),
    j("api", "failed", false, "gave up: 5 exits in 60 s;\npmtr start api to retry"),
    j("ok", "running"),
  ]);
  expect(r.ready).toBe(false);
  expect(r.text).toBe("not ready: 3 of 4 jobs\nweb: running\ndb: starting (not ready yet (tcp 127.0.0.1:5432), 4 s of 60 s)\napi: failed (gave up: 5 exits in 60 s; pmtr start api to retry)\n");
});
