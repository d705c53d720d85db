// How a value from the file appears inside an error message: cut short so that a 9 MiB line
// produces a readable one-line error rather than 9 MiB of output.

const MAX_SHOWN = 48;

/** The value as written, cut to MAX_SHOWN characters. */
export function cut(value: string): string {
  return value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}...` : value;
}

/** The value quoted, cut to MAX_SHOWN characters. */
export function show(value: string): string {
  return `"${cut(value)}"`;
}
