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
