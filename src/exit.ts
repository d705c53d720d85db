// The one exit-status table (README "Exit status", pmtr(8)). Client commands (`pmtr status`
// and friends) use LSB's status codes instead; see control/status-format.ts.

export const EXIT = {
  ok: 0,
  config: 1, // the configuration file is invalid, unreadable or unsafe
  usage: 2, // bad command line
  runtime: 3, // could not start: pidfile held or unwritable, control socket, ...
} as const;
export type Outcome = keyof typeof EXIT;
