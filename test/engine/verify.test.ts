import { afterAll, describe, expect, it } from "vitest"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import type { Manifest } from "../../src/engine/store.js"
import { cli, makeProject, removeProjects, runIn } from "./helpers.js"

afterAll(removeProjects)

const spec = `params:
  mode: steady
stages:
  steady:
    module: stages/steady.ts
    outputs: [value.txt]
  noisy:
    module: stages/noisy.ts
    needs: { base: steady }
    outputs: [value.txt, stable.txt]
  backend:
    module: stages/backend.ts
    params: [mode]
    outputs: [value.txt]
`

const steady = `import * as Effect from "effect/Effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
export default { run: (ctx: any) => Effect.sync(() => writeFileSync(join(ctx.outDir, "value.txt"), "same every time")) }
`

// Writes the high-resolution clock, so every run differs.
const noisy = `import * as Effect from "effect/Effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
export default {
  run: (ctx: any) => Effect.sync(() => {
    writeFileSync(join(ctx.outDir, "value.txt"), String(process.hrtime.bigint()))
    writeFileSync(join(ctx.outDir, "stable.txt"), "stable")
  }),
}
`

// The facts hook reads PIPE_BACKEND, so the backend joins the key.
const backend = `import * as Effect from "effect/Effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
export default {
  facts: () => ({ backend: process.env.PIPE_BACKEND ?? "cpu" }),
  run: (ctx: any) => Effect.sync(() => writeFileSync(join(ctx.outDir, "value.txt"), ctx.facts.backend)),
}
`

describe("pipe verify and facts", () => {
  it("names the non-deterministic instance and output", async () => {
    const dir = makeProject({ "pipeline.yaml": spec, "stages/steady.ts": steady, "stages/noisy.ts": noisy, "stages/backend.ts": backend })
    expect((await cli(dir, ["run", "noisy"])).code).toBe(0)
    const result = await cli(dir, ["verify", "noisy"])
    expect(result.code).toBe(3)
    const lines = result.stdout.split("\n")
    expect(lines.filter((line) => line.startsWith("DIFFERS"))).toEqual([
      expect.stringMatching(/^DIFFERS {3}noisy value\.txt: hash [0-9a-f]{32} differs from pipeline\.lock [0-9a-f]{32}$/),
    ])
    expect(result.stdout).toContain("verify: 1 difference in 1 of 2 instances\n")
    // The real store and lock are untouched.
    expect((await cli(dir, ["status", "noisy"])).stdout).toBe("2 instances: 2 fresh, 0 stale, 0 waiting on stale upstream\n")
    const steadyOnly = await cli(dir, ["verify", "steady"])
    expect(steadyOnly.code).toBe(0)
    expect(steadyOnly.stdout).toContain("verify: 1 instances rebuilt, every output matches pipeline.lock\n")
  })

  it("keys on stage facts but records Node and platform only in the manifest", async () => {
    const dir = makeProject({ "pipeline.yaml": spec, "stages/steady.ts": steady, "stages/noisy.ts": noisy, "stages/backend.ts": backend })
    const previous = process.env.PIPE_BACKEND
    try {
      delete process.env.PIPE_BACKEND
      const cpu = await runIn(dir, { targets: ["backend"] })
      expect(cpu.ran).toEqual(["backend"])
      process.env.PIPE_BACKEND = "wasm"
      const wasm = await runIn(dir, { targets: ["backend"] })
      expect(wasm.events.find((e) => e.type === "instance-started")).toMatchObject({ reason: 'fact backend changed ("cpu" -> "wasm")' })
      const outcome = wasm.result!.outcomes.get("backend")!
      if (outcome.kind !== "ok") throw new Error("backend did not build")
      const manifest = JSON.parse(readFileSync(join(dir, "cache/manifests", `${outcome.key}.json`), "utf8")) as Manifest
      expect(manifest.inputs.facts).toEqual({ backend: "wasm" })
      expect(manifest.runtime.node).toBe(process.version)
      expect(JSON.stringify(manifest.inputs)).not.toContain(process.version)
      expect(JSON.stringify(manifest.inputs)).not.toContain(process.platform)
      delete process.env.PIPE_BACKEND
      const back = await runIn(dir, { targets: ["backend"] })
      expect(back.cached).toEqual(["backend"])
    } finally {
      if (previous === undefined) delete process.env.PIPE_BACKEND
      else process.env.PIPE_BACKEND = previous
    }
  })
})
