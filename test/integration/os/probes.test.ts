// Readiness and health probes against real servers on loopback (SPEC §12).

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probeFile } from "../../../src/os/probe/file.ts";
import { probeHttp } from "../../../src/os/probe/http.ts";
import { probeTcp } from "../../../src/os/probe/tcp.ts";

const dir = mkdtempSync(join(tmpdir(), "pmtr-probe-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A port nothing listens on: bind one, note it, close it. */
function freePort(): number {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

describe("tcp", () => {
  test("met when a listener accepts; refused names the address and the OS's words", async () => {
    const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    expect(await probeTcp("127.0.0.1", l.port, 2000)).toEqual({ ok: true });
    l.stop(true);
    const port = freePort();
    expect(await probeTcp("127.0.0.1", port, 2000)).toEqual({ ok: false, error: `connect 127.0.0.1:${port}: Connection refused` });
  });
});

describe("http", () => {
  test("2xx is met; 500 and a redirect are not; a hung server times out", async () => {
    let hang = false;
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(req) {
        const path = new URL(req.url).pathname;
        if (path === "/ok") return new Response("fine", { status: 204 });
        if (path === "/moved") return Response.redirect("http://127.0.0.1:1/", 302);
        if (path === "/slow") return new Promise<Response>(() => { hang = true; });
        return new Response("broken", { status: 500 });
      },
    });
    const base = `http://127.0.0.1:${server.port}`;
    expect(await probeHttp(`${base}/ok`, 2000)).toEqual({ ok: true });
    expect(await probeHttp(`${base}/err`, 2000)).toEqual({ ok: false, error: "http 500" });
    expect(await probeHttp(`${base}/moved`, 2000)).toEqual({ ok: false, error: "http 302" });
    const slow = await probeHttp(`${base}/slow`, 300);
    expect(hang).toBe(true);
    expect(slow).toEqual({ ok: false, error: `http ${base}/slow: no answer in 300 ms` });
    server.stop(true);
    const down = await probeHttp(`${base}/ok`, 2000);
    expect(down.ok).toBe(false);
  });
});

describe("file", () => {
  test("a file from before this start does not count; one written after it does", () => {
    const path = join(dir, "web.sock");
    const startedAt = Date.now();
    expect(probeFile(path, startedAt)).toEqual({ ok: false, error: `${path} does not exist yet` });
    writeFileSync(path, "");
    const old = new Date(startedAt - 60_000);
    utimesSync(path, old, old);
    // utimes sets mtime; ctime moves to now — so leftover detection needs both in the past:
    // a leftover is simply a file untouched since before the start.
    const leftover = join(dir, "old.pid");
    writeFileSync(leftover, "1");
    expect(probeFile(leftover, Date.now() + 60_000)).toEqual({ ok: false, error: `${leftover} is left over from before this start` });
    expect(probeFile(path, startedAt)).toEqual({ ok: true });
  });
});
