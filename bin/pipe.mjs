#!/usr/bin/env node
// Entry point of the `pipe` command: registers tsx so the TypeScript sources
// run without a build step, then starts the CLI. The effect modules and
// hash-wasm are imported before tsx registers its loader hooks, which would
// otherwise slow down loading their many files.
await Promise.all([
  import("effect/Effect"),
  import("effect/Cause"),
  import("effect/Chunk"),
  import("effect/Data"),
  import("effect/Deferred"),
  import("effect/Exit"),
  import("effect/Fiber"),
  import("hash-wasm"),
])
const { register } = await import("tsx/esm/api")
register()
const { runCli } = await import("../src/cli/main.ts")
await runCli()
