import { describe, expect, test } from "bun:test";
import { describeFaults, rootInputRefusal, rootOnlyFaults } from "../../../src/os/config/root-only.ts";

const FILE = 0o100000;
const FIFO = 0o010000;
const CHR = 0o020000;
const BLK = 0o060000;

describe("rootOnlyFaults: may anyone but root change what is read?", () => {
  test.each([0o644, 0o600, 0o400, 0o755, 0o4755])("root-owned, mode %o: no fault", (mode) => {
    expect(rootOnlyFaults("/etc/x", { uid: 0, mode: FILE | mode })).toEqual([]);
  });

  test.each([
    [0o664, "group", "0664"],
    [0o646, "others", "0646"],
    [0o666, "group and others", "0666"],
    [0o1777, "group and others", "1777"],
  ])("mode %o: writable by %s, fixed by chmod go-w", (mode, who, octal) => {
    expect(rootOnlyFaults("/etc/x", { uid: 0, mode: FILE | mode })).toEqual([{ fault: `writable by ${who} (mode ${octal})`, fix: "chmod go-w /etc/x" }]);
  });

  test("another owner, fixed by chown root; both faults together", () => {
    expect(rootOnlyFaults("/etc/x", { uid: 1000, mode: FILE | 0o644 })).toEqual([{ fault: "owned by uid 1000, not root", fix: "chown root /etc/x" }]);
    const both = rootOnlyFaults("/etc/x", { uid: 65534, mode: FILE | 0o646 });
    expect(describeFaults(both)).toEqual({
      fault: "owned by uid 65534, not root, and writable by others (mode 0646)",
      fix: "chown root /etc/x && chmod go-w /etc/x",
    });
  });

  test("a FIFO or block device others may write is refused like a file; a character device only by its owner", () => {
    expect(rootOnlyFaults("/run/in", { uid: 0, mode: FIFO | 0o622 })).toHaveLength(1);
    expect(rootOnlyFaults("/dev/sda", { uid: 0, mode: BLK | 0o660 })).toHaveLength(1);
    expect(rootOnlyFaults("/dev/null", { uid: 0, mode: CHR | 0o666 })).toEqual([]);
    expect(rootOnlyFaults("/dev/pts/3", { uid: 1000, mode: CHR | 0o620 })).toEqual([{ fault: "owned by uid 1000, not root", fix: "chown root /dev/pts/3" }]);
  });

  test("the path in the fix is shell-quoted when it needs it", () => {
    expect(rootOnlyFaults("/etc/my conf", { uid: 0, mode: FILE | 0o666 })[0]!.fix).toBe("chmod go-w '/etc/my conf'");
    expect(rootOnlyFaults("/etc/it's", { uid: 5, mode: FILE | 0o644 })[0]!.fix).toBe(`chown root '/etc/it'\\''s'`);
  });
});

describe("rootInputRefusal: the `in` file of a job that runs as root", () => {
  test("one line with every fault and every fix; null when only root can change it", () => {
    expect(rootInputRefusal("/srv/in", { uid: 0, mode: FILE | 0o644 })).toBeNull();
    expect(rootInputRefusal("/dev/null", { uid: 0, mode: CHR | 0o666 })).toBeNull();
    expect(rootInputRefusal("/srv/in", { uid: 33, mode: FILE | 0o666 })).toBe(
      "refusing /srv/in, owned by uid 33, not root, and writable by group and others (mode 0666): the job runs as root and would read it (fix: chown root /srv/in && chmod go-w /srv/in)",
    );
  });
});
