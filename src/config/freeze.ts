// The model is shared by reference between the parser, the supervisor and the reload
// planner; freezing it deeply makes an accidental write a TypeError in tests rather than a
// silent divergence between "what the file says" and "what pmtr thinks it says".

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
