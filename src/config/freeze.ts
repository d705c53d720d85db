// The model is shared by reference between the parser, the supervisor and the reload
// planner; freezing it deeply makes an accidental write a TypeError in tests rather than a
// silent divergence between "what the file says" and "what pmtr thinks it says".
//
// Written as loops rather than over Object.values: it runs over every object of every job
// (100 000 jobs in a hostile file), and the arrays Object.values allocates were most of its cost.

export function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child: unknown = value[i];
      if (typeof child === "object" && child !== null) deepFreeze(child);
    }
  } else {
    const record = value as Record<string, unknown>;
    for (const key in record) {
      const child = record[key];
      if (typeof child === "object" && child !== null) deepFreeze(child);
    }
  }
  return value;
}
