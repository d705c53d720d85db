// `pmtr status|start|stop|restart|signal|reload|reopen`: one request to the running pmtr over the
// control socket, its answer printed for people (or as JSON), and an exit code for scripts.

// No node:fs here: its first use costs a command ~3 MB of peak memory (the whole module),
// where Bun.file().stat() costs ~1 MB (docs/PERFORMANCE.md, Memory).
import { CLIENT_EXIT, formatDetail, formatStatusTable, statusExitCode } from "./status-format.ts";
import { encode, MAX_MESSAGE_BYTES, type ControlRequest, type ControlResponse, type StatusJob } from "./protocol.ts";
import { defaultSocketPath, ROOT_SOCKET_PATH } from "./socket-path.ts";

/** For the first line of the answer. start/stop/restart send the time their outcome may take
 *  first (the jobs' stop timeout, ready within, ...), and the client then waits that long. */
const FIRST_LINE_TIMEOUT_MS = 10_000;
/** On top of the daemon's deadline: the daemon answers at its deadline itself. */
const DEADLINE_SLACK_MS = 5_000;

export interface ClientIo {
  readonly out: (text: string) => void | Promise<unknown>;
  readonly err: (text: string) => void | Promise<unknown>;
  readonly uid: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const processIo = (): ClientIo => ({
  out: (text) => quietly(Bun.write(Bun.stdout, text)),
  err: (text) => quietly(Bun.write(Bun.stderr, text)),
  uid: process.getuid?.() ?? 0,
  env: process.env,
});

/** Run one client command and return its exit code (see CLIENT_EXIT). */
export async function runClient(request: ControlRequest, options: { json: boolean; socketPath: string | null }, io: ClientIo = processIo()): Promise<number> {
  const path = options.socketPath ?? (await chooseDefault(io));
  // --json carries every field of every job (the table needs only its columns).
  const asked: ControlRequest = options.json && request.op === "status" ? { ...request, detail: true } : request;
  const answer = await ask(path, asked, io.uid);
  if (!answer.ok) {
    await io.err(`pmtr: ${answer.message}\n`);
    return CLIENT_EXIT.unknown;
  }
  return present(request, answer.response, options.json, io);
}

/** An ordinary user's own pmtr listens under $XDG_RUNTIME_DIR; when there is none, the
 *  system pmtr's socket is tried, so the user hears "permission denied" rather than "not running". */
async function chooseDefault(io: ClientIo): Promise<string> {
  const own = defaultSocketPath(io.uid, io.env);
  if (io.uid === 0 || (await exists(own)) || !(await exists(ROOT_SOCKET_PATH))) return own;
  return ROOT_SOCKET_PATH;
}

export type Answer = { ok: true; response: ControlResponse } | { ok: false; message: string };

/** One request to the pmtr on `socketPath` (null: the default), for commands that present the
 *  answer themselves (`pmtr -t --diff`). */
export async function askPmtr(request: ControlRequest, socketPath: string | null, io: ClientIo = processIo()): Promise<Answer> {
  return ask(socketPath ?? (await chooseDefault(io)), request, io.uid);
}

/** A whole configuration (`config`, 1000 jobs ~ 1 MB of JSON) is the one large answer. */
function answerLimit(request: ControlRequest): number {
  return request.op === "config" ? 1024 * MAX_MESSAGE_BYTES : 16 * MAX_MESSAGE_BYTES;
}

async function ask(path: string, request: ControlRequest, uid: number): Promise<Answer> {
  const refusal = await checkOwner(path, uid);
  if (refusal) return { ok: false, message: refusal };
  let text = "";
  let bytes = 0;
  let answered = false;
  let resolveAnswer: (a: Answer) => void = () => {};
  const done = new Promise<Answer>((resolve) => (resolveAnswer = resolve));
  const finish = (a: Answer) => {
    if (answered) return;
    answered = true;
    resolveAnswer(a);
  };
  let timer: Timer | null = null;
  let connection: { end(): void } | null = null;
  const waitUpTo = (ms: number) => {
    if (timer !== null) clearTimeout(timer);
    timer = setTimeout(() => {
      finish({ ok: false, message: `pmtr on ${path} did not answer within ${Math.round(ms / 1000)} s` });
      connection?.end();
    }, ms);
  };
  /** Each complete line: an "accepted" sets the deadline, anything else is the answer. */
  const takeLines = (closed: boolean) => {
    while (!answered) {
      const newline = text.indexOf("\n");
      if (newline < 0 && !closed) return;
      const line = newline < 0 ? text : text.slice(0, newline);
      text = newline < 0 ? "" : text.slice(newline + 1);
      let response: ControlResponse;
      try {
        response = JSON.parse(line) as ControlResponse;
      } catch {
        finish({ ok: false, message: `pmtr on ${path} closed the connection without an answer` });
        return;
      }
      if (response.ok && response.op === "accepted") {
        waitUpTo(response.deadlineMs + DEADLINE_SLACK_MS);
        if (newline < 0) return;
        continue;
      }
      // finish first: end() may run the close handler at once, which must find us answered.
      finish({ ok: true, response });
      connection?.end();
      return;
    }
  };
  try {
    const socket = await Bun.connect({
      unix: path,
      socket: {
        data(s, chunk) {
          bytes += chunk.length;
          text += chunk.toString("utf8");
          if (bytes > answerLimit(request)) {
            s.end();
            finish({ ok: false, message: `pmtr on ${path} sent an oversized answer` });
            return;
          }
          takeLines(false);
        },
        close: () => takeLines(true),
        error(_s, error) {
          finish({ ok: false, message: `control socket ${path}: ${error.message}` });
        },
      },
    });
    connection = socket;
    socket.write(encode(request));
    waitUpTo(FIRST_LINE_TIMEOUT_MS);
    const answer = await done;
    if (timer !== null) clearTimeout(timer);
    return answer;
  } catch (error) {
    return { ok: false, message: connectError(path, (error as NodeJS.ErrnoException).code ?? "", (error as Error).message) };
  }
}

/** Talk only to a socket owned by root or by us: in a shared directory such as /tmp anyone
 *  could have put a socket of their own there to feed us false answers. */
async function checkOwner(path: string, uid: number): Promise<string | null> {
  try {
    const st = await Bun.file(path).stat();
    if (!st.isSocket()) return `${path} is not a socket (is -s right?)`;
    if (st.uid !== 0 && st.uid !== uid) return `control socket ${path} belongs to uid ${st.uid}, not to you or root; refusing to use it`;
    return null;
  } catch (error) {
    return connectError(path, (error as NodeJS.ErrnoException).code ?? "", (error as Error).message);
  }
}

function connectError(path: string, code: string, message: string): string {
  switch (code) {
    case "ENOENT": return `pmtr is not running (no control socket ${path}; if pmtr was started with -s PATH, give the same -s)`;
    case "ECONNREFUSED": return `pmtr is not running (${path} was left behind by a pmtr that is gone)`;
    case "EACCES":
    case "EPERM": return `permission denied on ${path}: only the user pmtr runs as may use it (try sudo)`;
    default: return `cannot connect to ${path}: ${code || message}`;
  }
}

async function present(request: ControlRequest, response: ControlResponse, json: boolean, io: ClientIo): Promise<number> {
  if (!response.ok) {
    await io.err(`pmtr: ${response.error}\n`);
    return response.unknown && response.unknown.length > 0 ? CLIENT_EXIT.unknown : CLIENT_EXIT.failed;
  }
  switch (response.op) {
    case "status": {
      const named = request.op === "status" && request.names.length > 0;
      if (json) await io.out(`${JSON.stringify({ jobs: response.jobs, unknown: response.unknown }, null, 2)}\n`);
      // Named requests are answered with whole StatusJobs (request-handler.ts).
      else if (named) await io.out((response.jobs as readonly StatusJob[]).map((job) => formatDetail(job, Date.now())).join("\n"));
      else await io.out(formatStatusTable(response.jobs));
      if (!json && response.unknown.length > 0) await io.err(response.unknown.map((n) => `pmtr: no job named ${JSON.stringify(n)}\n`).join(""));
      return statusExitCode(response.jobs, response.unknown, named);
    }
    case "accepted":
      // Never the final answer: ask() reads on past it.
      await io.err("pmtr: the answer ended early\n");
      return CLIENT_EXIT.failed;
    case "action": {
      const good = response.results.filter((r) => r.ok).map((r) => `${r.name}: ${r.message}\n`).join("");
      const bad = response.results.filter((r) => !r.ok).map((r) => `pmtr: ${r.name}: ${r.message}\n`).join("");
      if (good) await io.out(good);
      if (bad) await io.err(bad);
      return bad ? CLIENT_EXIT.failed : CLIENT_EXIT.ok;
    }
    case "reload": {
      if (response.applied) {
        await io.out("configuration reloaded\n");
        return CLIENT_EXIT.ok;
      }
      await io.err(`${response.messages.join("\n")}\npmtr: the configuration has errors; pmtr keeps the previous one\n`);
      return CLIENT_EXIT.failed;
    }
    case "reopen": {
      if (response.messages.length === 0) {
        await io.out("log files reopened\n");
        return CLIENT_EXIT.ok;
      }
      await io.err(response.messages.map((m) => `pmtr: ${m}\n`).join(""));
      return CLIENT_EXIT.failed;
    }
    case "config": {
      // Asked by `pmtr -t --diff` (control/diff-client.ts), which presents it itself.
      await io.out(`${JSON.stringify(response.jobs)}\n`);
      return CLIENT_EXIT.ok;
    }
  }
}

/** A reader that went away (`pmtr status | head -1`) is not an error worth a stack trace. */
function quietly(write: Promise<number>): Promise<unknown> {
  return write.catch(() => undefined);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Bun.file(path).stat();
    return true;
  } catch {
    return false;
  }
}
