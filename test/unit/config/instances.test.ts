// SPEC §15 `instances N`: NAME.1..NAME.N, %i and %% substituted, names unique with instances.

import { describe, expect, test } from "bun:test";
import { expandNames, substitute } from "../../../src/config/instances.ts";
import { sameJob } from "../../../src/config/model.ts";
import { errorsOf, valid } from "./helpers.ts";

const WEB = (n: number, extra = ""): string => `job {
  name web
  cmd /usr/bin/web --port 80%i --name "w %i" 100%%
  dir /srv/web%i
  out web%i.log
  err /var/log/web.%i.err
  in in.%i
  env SLOT=%i
  env file /etc/default/web.%i
  instances ${n}
${extra}}
`;

describe("expansion", () => {
  test("three instances, %i replaced where SPEC §15 says, %% a literal %", () => {
    const { jobs } = valid(WEB(3));
    expect(jobs.map((j) => j.name)).toEqual(["web.1", "web.2", "web.3"]);
    const second = jobs[1];
    expect(second?.argv).toEqual(["/usr/bin/web", "--port", "802", "--name", "w 2", "100%"]);
    expect(second?.dir).toBe("/srv/web2");
    expect(second?.out).toBe("web2.log");
    expect(second?.err).toBe("/var/log/web.2.err");
    expect(second?.in).toBe("in.2");
    expect(second?.env).toEqual(["SLOT=2"]);
    expect(second?.envFiles).toEqual(["/etc/default/web.2"]);
    expect(second?.instance).toEqual({ base: "web", index: 2 });
  });

  test("a job without instances keeps every % as written", () => {
    const { jobs } = valid('job {\n name d\n cmd /bin/date +%i%% "%i"\n}\n');
    expect(jobs[0]?.argv).toEqual(["/bin/date", "+%i%%", "%i"]);
    expect(jobs[0]?.instance).toBeNull();
  });

  test.each([
    ["%i", "7"], ["%%", "%"], ["%%i", "%i"], ["%%%i", "%7"], ["a%b", "a%b"], ["%", "%"], ["%i%i", "77"], ["100%", "100%"],
  ])("substitute(%p, 7) = %p", (text, out) => {
    expect(substitute(text, 7)).toBe(out);
  });

  test("changing N from 3 to 5 and to 2 leaves the common instances the same definition", () => {
    const three = valid(WEB(3)).jobs;
    const five = valid(WEB(5)).jobs;
    const two = valid(WEB(2)).jobs;
    expect(five.map((j) => j.name)).toEqual(["web.1", "web.2", "web.3", "web.4", "web.5"]);
    for (let i = 0; i < 3; i++) expect(sameJob(three[i] as never, five[i] as never)).toBe(true);
    for (let i = 0; i < 2; i++) expect(sameJob(three[i] as never, two[i] as never)).toBe(true);
  });

  test("1000 instances", () => {
    expect(valid(WEB(1000)).jobs).toHaveLength(1000);
  });
});

describe("probes (SPEC §12, §15): each instance probes its own port, URL, file or program", () => {
  const PROBED = (n: number, ready: string, check = ""): string =>
    `job {\n  name web\n  cmd /usr/bin/web\n  ${ready}\n${check ? `  ${check}\n` : ""}  instances ${n}\n}\n`;

  test("ready tcp with %i in the port, check http with %i in port and path", () => {
    const { jobs } = valid(PROBED(2, "ready tcp 127.0.0.1:80%i within 5s", "check http http://127.0.0.1:90%i/h/%i?x=100%% every 2s"));
    expect(jobs.map((j) => j.ready)).toEqual([
      { probe: { kind: "tcp", host: "127.0.0.1", port: 801 }, withinMs: 5000 },
      { probe: { kind: "tcp", host: "127.0.0.1", port: 802 }, withinMs: 5000 },
    ]);
    expect(jobs[1]?.check).toEqual({ probe: { kind: "http", url: "http://127.0.0.1:902/h/2?x=100%" }, everyMs: 2000, timeoutMs: 5000, failures: 3 });
  });

  test("ready file and exec with %i; instances before ready works too", () => {
    const file = valid("job {\n  name w\n  cmd /bin/w\n  instances 3\n  ready file /run/w.%i.sock\n}\n").jobs;
    expect(file.map((j) => j.ready?.probe)).toEqual([1, 2, 3].map((i) => ({ kind: "file", path: `/run/w.${i}.sock` })));
    const exec = valid(PROBED(2, 'ready exec /bin/ok --slot %i "a %i"', "check exec /bin/ok %%i")).jobs;
    expect(exec[1]?.ready?.probe).toEqual({ kind: "exec", argv: ["/bin/ok", "--slot", "2", "a 2"] });
    expect(exec[1]?.check?.probe).toEqual({ kind: "exec", argv: ["/bin/ok", "%i"] });
  });

  test("a probe without % marks is shared as written; changing N keeps instance 1 the same", () => {
    const { jobs } = valid(PROBED(2, "ready tcp 127.0.0.1:80 within 5s"));
    expect(jobs[0]?.ready).toEqual(jobs[1]?.ready ?? null);
    const three = valid(PROBED(3, "ready tcp 127.0.0.1:80%i")).jobs;
    const two = valid(PROBED(2, "ready tcp 127.0.0.1:80%i")).jobs;
    expect(sameJob(three[0] as never, two[0] as never)).toBe(true);
  });

  test("a port out of range in one instance is reported once, naming that instance", () => {
    expect(errorsOf(PROBED(12, "ready tcp 127.0.0.1:6553%i"))).toEqual([
      { line: 4, message: 'ready tcp port "65536" is out of range 1..65535 (in instance web.6, where %i is 6)' },
    ]);
  });

  test("a job without instances reads its probe as written, and says where %i works", () => {
    expect(errorsOf("job {\n  name p\n  cmd /bin/p\n  ready tcp 127.0.0.1:80%i\n}\n")).toEqual([
      { line: 4, message: 'ready tcp port "80%i" is out of range 1..65535 (%i is replaced only in a job with instances N)' },
    ]);
    expect(valid("job {\n  name p\n  cmd /bin/p\n  ready file /run/p%i%%\n}\n").jobs[0]?.ready?.probe).toEqual({ kind: "file", path: "/run/p%i%%" });
  });

  test("an instance job with a dependant on it: after defaults to ready", () => {
    const { jobs } = valid(`${PROBED(2, "ready tcp 127.0.0.1:80%i")}job {\n  name c\n  cmd /bin/c\n  after web\n}\n`);
    expect(jobs.find((j) => j.name === "c")?.after).toEqual([{ name: "web.1", condition: "ready" }, { name: "web.2", condition: "ready" }]);
  });
});

describe("names", () => {
  test("a job named like an instance is a duplicate", () => {
    expect(errorsOf(`${WEB(2)}job {\n name web.2\n cmd /bin/true\n}\n`)).toEqual([
      { line: 13, message: 'duplicate job name "web.2" (first used on line 2; "web.2" is an instance of "web")' },
    ]);
  });

  test("expandNames: a base name stands for its instances, an instance or plain name for itself", () => {
    const { jobs } = valid(`${WEB(3)}job {\n name db\n cmd /bin/true\n}\n`);
    const byName = new Map(jobs.map((j) => [j.name, j]));
    expect(expandNames(["web"], byName)).toEqual(["web.1", "web.2", "web.3"]);
    expect(expandNames(["web.2", "db", "nope", "db"], byName)).toEqual(["web.2", "db", "nope"]);
    expect(expandNames(["we"], byName)).toEqual(["we"]);
  });
});
