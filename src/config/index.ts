// The configuration language's public face: what main, reloads and tests call.

export { parseConfig } from "./parse.ts";
export { formatErrors } from "./errors.ts";
export { describeJob } from "./describe.ts";
export type { Config, ConfigError, JobSpec, ParseResult } from "./model.ts";
