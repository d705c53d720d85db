// Signal names for `pmtr signal SIG NAME...`: the one table lives with the configuration
// language, which needs it for `stop signal`.

export { parseSignal } from "../config/signal.ts";
