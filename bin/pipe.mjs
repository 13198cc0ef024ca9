#!/usr/bin/env node
// Entry point of the `pipe` command, which runs the TypeScript sources without
// a build step. On first use, and whenever a source file changes, it bundles
// the engine and CLI with esbuild into src/cli/.pipe-cli.bundle.mjs. Loading
// that one plain module is several times faster than compiling each source
// through tsx's loader hooks. tsx is registered only when a stage module or
// the UI must be imported in this process. If bundling fails (esbuild missing,
// read-only checkout), the sources are loaded through tsx directly.
import { readFileSync, renameSync, statSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

const entry = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url))
const bundle = fileURLToPath(new URL("../src/cli/.pipe-cli.bundle.mjs", import.meta.url))
const bundleMeta = fileURLToPath(new URL("../src/cli/.pipe-cli.bundle.json", import.meta.url))

let tsxRegistered = false
const ensureTsx = async () => {
  if (tsxRegistered) return
  tsxRegistered = true
  const { register } = await import("tsx/esm/api")
  register()
}

/** True when every input recorded at the last build still has its size and mtime. */
const bundleIsFresh = () => {
  try {
    const meta = JSON.parse(readFileSync(bundleMeta, "utf8"))
    for (const [path, [size, mtimeMs]] of Object.entries(meta.inputs)) {
      const stats = statSync(path)
      if (stats.size !== size || stats.mtimeMs !== mtimeMs) return false
    }
    statSync(bundle)
    return true
  } catch {
    return false
  }
}

const buildBundle = async () => {
  const { build } = await import("esbuild")
  const tmp = `${bundle}.${process.pid}.tmp.mjs`
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    outfile: tmp,
    metafile: true,
    logLevel: "silent",
  })
  const root = fileURLToPath(new URL("..", import.meta.url))
  const inputs = {}
  for (const input of Object.keys(result.metafile.inputs)) {
    const path = `${root}${input}`
    const stats = statSync(path)
    inputs[path] = [stats.size, stats.mtimeMs]
  }
  renameSync(tmp, bundle)
  writeFileSync(`${bundleMeta}.${process.pid}.tmp`, JSON.stringify({ inputs }))
  renameSync(`${bundleMeta}.${process.pid}.tmp`, bundleMeta)
}

// A closed pipe on stdout (`pipe status | head`) ends the command quietly, as
// other command-line tools do, instead of an unhandled EPIPE stack trace.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0)
  throw error
})

let cli
try {
  if (!bundleIsFresh()) await buildBundle()
  cli = await import(bundle)
  cli.setTypeScriptLoader(ensureTsx)
} catch {
  await ensureTsx()
  cli = await import("../src/cli/main.ts")
}
await cli.runCli()
