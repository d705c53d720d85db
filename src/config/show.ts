// How a value from the file appears inside an error message: quoted, and cut short so that
// a 9 MiB line produces a readable one-line error rather than 9 MiB of output.

const MAX_SHOWN = 48;

export function show(value: string): string {
  const cut = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}...` : value;
  return `"${cut}"`;
}
