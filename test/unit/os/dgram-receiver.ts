// A real unix datagram socket standing in for /dev/log or $NOTIFY_SOCKET: a python3 process
// binds it and prints every datagram it receives as one JSON string per line. With `hold`, it
// binds but reads nothing until that file exists, so its queue fills like a stalled syslogd.

import type { Subprocess } from "bun";
import { waitFor } from "../../helpers.ts";

const SCRIPT = `
import json, os, socket, sys, time
address, hold = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + address[1:] if address.startswith("@") else address)
print("ready", flush=True)
while hold and not os.path.exists(hold):
    time.sleep(0.005)
while True:
    data = s.recv(65536)
    print(json.dumps(data.decode("utf-8", "replace")), flush=True)
`;

export class DgramReceiver {
  readonly records: string[] = [];
  private readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  private buffered = "";
  private ready = false;
  private errors = "";

  private constructor(readonly address: string, hold: string) {
    this.proc = Bun.spawn(["python3", "-u", "-c", SCRIPT, address, hold], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    void this.read();
    void new Response(this.proc.stderr).text().then((t) => (this.errors = t));
  }

  /** Bind `address` (a path or @abstract) and wait until it is bound. */
  static async start(address: string, opts: { hold?: string } = {}): Promise<DgramReceiver> {
    const r = new DgramReceiver(address, opts.hold ?? "");
    await waitFor(`receiver on ${address} to bind`, () => {
      if (r.proc.exitCode !== null) throw new Error(`receiver exited: ${r.errors}`);
      return r.ready;
    });
    return r;
  }

  /** Wait until at least `n` datagrams have arrived; returns them all. */
  async waitForCount(n: number, timeoutMs = 5000): Promise<string[]> {
    await waitFor(`${n} datagrams on ${this.address} (have ${this.records.length}: ${JSON.stringify(this.records.slice(-3))})`, () => this.records.length >= n, timeoutMs);
    return this.records;
  }

  async stop(): Promise<void> {
    this.proc.kill("SIGKILL");
    await this.proc.exited;
  }

  private async read(): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of this.proc.stdout) {
      this.buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = this.buffered.indexOf("\n")) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        if (line === "ready") this.ready = true;
        else this.records.push(JSON.parse(line) as string);
      }
    }
  }
}
