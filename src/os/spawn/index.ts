// Where supervise.ts and the rest of pmtr start processes: see spawn/spawner.ts.
export { spawnRoutineProblem } from "./compile.ts";
export { createSpawner, type ProcessOptions, type Spawner, type SpawnerOptions, type StartOptions, type StdioFds } from "./spawner.ts";
