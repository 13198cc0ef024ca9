#!/usr/bin/env node
// Entry point of the `pipe` command: registers tsx so the TypeScript sources
// run without a build step, then starts the CLI. Large dependencies are
// imported before tsx registers its loader hooks, which would otherwise slow
// down loading their hundreds of files.
await Promise.all([import("effect"), import("yaml"), import("fast-glob"), import("hash-wasm")])
const { register } = await import("tsx/esm/api")
register()
const { runCli } = await import("../src/cli/main.ts")
await runCli()
