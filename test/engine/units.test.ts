import { afterAll, describe, expect, it } from "vitest"
import { createXXHash128 } from "hash-wasm"
import { readFileSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { StatCache, hashFileUncached } from "../../src/engine/hash.js"
import { findSpecifiers, traceImports } from "../../src/engine/imports.js"
import { canonicalJson } from "../../src/engine/keys.js"
import { serializeLock } from "../../src/engine/lockfile.js"
import { buildPlan } from "../../src/engine/plan.js"
import { parseSpecText } from "../../src/engine/spec.js"
import { pipelineJsonSchema } from "../../src/engine/spec-schema.js"
import { makeProject, removeProjects, repoRoot } from "./helpers.js"

afterAll(removeProjects)

describe("import scanner", () => {
  it("finds static, re-exported, side-effect and dynamic imports", () => {
    const source = `
import { a } from "./a.js"
import type { T } from './types.ts'
import * as ns from "effect/Effect"
export { b } from "./b.js"
export * from "../c.ts"
import "./side-effect.js"
const lazy = await import("./lazy.js")
const cjs = require("./legacy.cjs")
`
    expect(findSpecifiers(source)).toEqual(["./a.js", "./types.ts", "effect/Effect", "./b.js", "../c.ts", "./side-effect.js", "./lazy.js", "./legacy.cjs"])
  })

  it("ignores specifiers in comments, strings, templates and regular expressions", () => {
    const source = `
// import { x } from "./commented.js"
/* export * from "./block.js" */
const text = 'import "./in-string.js"'
const template = \`import("./in-template.js") \${"from"} "./nested.js"\`
const pattern = /from "\\.\\/regex.js"/g
const ratio = 4 / 2 / 1
const object = { from: "./not-an-import.js" }
obj.import("./method.js")
import { real } from "./real.js"
`
    expect(findSpecifiers(source)).toEqual(["./real.js"])
  })

  it("traces project files transitively and lists packages", () => {
    const dir = makeProject({
      "stages/a.ts": 'import { b } from "../lib/b.js"\nimport { Effect } from "effect"\nexport default b\n',
      "lib/b.ts": 'export { c as b } from "./c/index.js"\n',
      "lib/c/index.ts": 'import fg from "fast-glob"\nimport data from "./data.json"\nexport const c = [fg, data]\n',
      "lib/c/data.json": "{}\n",
      "lib/unused.ts": "export const unused = 1\n",
    })
    const trace = traceImports(join(dir, "stages/a.ts"), dir)
    expect(trace.files.map((file) => file.slice(dir.length + 1))).toEqual(["lib/b.ts", "lib/c/data.json", "lib/c/index.ts", "stages/a.ts"])
    expect(trace.packages).toEqual(["effect", "fast-glob"])
    expect(trace.unresolved).toEqual([])
  })
})

describe("hashing", () => {
  it("streams xxhash128 equal to the one-shot digest", async () => {
    const dir = makeProject({})
    const path = join(dir, "data.bin")
    const bytes = Buffer.alloc(3 * 1024 * 1024 + 17)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) & 0xff
    writeFileSync(path, bytes)
    const oneShot = await createXXHash128()
    oneShot.init()
    oneShot.update(bytes)
    expect(await hashFileUncached(path)).toBe(oneShot.digest("hex"))
  })

  it("reuses stat cache entries and re-hashes changed files", async () => {
    const dir = makeProject({ "a.txt": "first\n" })
    const path = join(dir, "a.txt")
    const old = new Date(Date.now() - 60_000)
    utimesSync(path, old, old)
    const cache = await StatCache.load(join(dir, "stat.json"))
    const first = await cache.hashFile(path)
    await cache.save()
    const saved = JSON.parse(readFileSync(join(dir, "stat.json"), "utf8")) as Record<string, Array<string>>
    expect(saved[path]).toEqual([String(statSync(path).size), expect.any(String), expect.any(String), String(statSync(path).ino), first])
    const reloaded = await StatCache.load(join(dir, "stat.json"))
    expect(await reloaded.hashFile(path)).toBe(first)
    writeFileSync(path, "other\n")
    utimesSync(path, old, old) // same size and mtime: ctime still differs
    expect(await reloaded.hashFile(path)).toBe(await hashFileUncached(path))
    expect(await reloaded.hashFile(path)).not.toBe(first)
  })

  it("does not trust an entry for a file modified just before hashing", async () => {
    const dir = makeProject({ "fresh.txt": "now\n" })
    const cache = await StatCache.load(join(dir, "stat.json"))
    await cache.hashFile(join(dir, "fresh.txt"))
    await cache.save()
    expect(JSON.parse(readFileSync(join(dir, "stat.json"), "utf8"))).toEqual({})
  })
})

describe("keys and lock", () => {
  it("serialises canonical JSON with sorted keys", () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}')
  })

  it("writes the lock sorted and stable", () => {
    const lock = {
      version: 1,
      instances: {
        "train[seed=456]": { key: "k2", outputs: { "z.json": "h2", "a.json": "h1" } },
        "split[split=S1]": { key: "k1", outputs: {} },
      },
    }
    const text = serializeLock(lock)
    expect(text).toBe(
      '{\n  "version": 1,\n  "instances": {\n    "split[split=S1]": {\n      "key": "k1",\n      "outputs": {}\n    },\n    "train[seed=456]": {\n      "key": "k2",\n      "outputs": {\n        "a.json": "h1",\n        "z.json": "h2"\n      }\n    }\n  }\n}\n',
    )
    expect(serializeLock(JSON.parse(text) as typeof lock)).toBe(text)
  })
})

describe("plan expansion", () => {
  const spec = `params:
  seeds: [42, 456]
  splits: { S1_age: { attr: age }, S2_pers: { attr: pers } }
  data: { path: null, seed: 7 }
stages:
  split:
    module: stages/split.ts
    matrix: { split: "\${splits}" }
    params: [data.seed, "splits.\${split}"]
    deps: ["\${data.path}"]
    outputs: [train.jsonl]
  train:
    module: stages/train.ts
    matrix: { split: "\${splits}", seed: "\${seeds}" }
    needs: { data: "split@{split}" }
    outputs: [model.bin]
  eval:
    module: stages/eval.ts
    matrix: { split: "\${splits}", seed: "\${seeds}" }
    needs: { model: "train@{split,seed}", first: "split@{split=S1_age}" }
    outputs: [eval.json]
  per_split:
    module: stages/per_split.ts
    matrix: { split: "\${splits}" }
    needs: { evals: "eval@{split}" }
    outputs: ["plots/*.svg"]
  compare:
    module: stages/compare.ts
    needs: { evals: eval }
    outputs: [report.md]
`
  const plan = buildPlan(parseSpecText(spec, "/p/pipeline.yaml", "pipeline.yaml"))
  const inputsOf = (id: string): Record<string, Array<string>> =>
    Object.fromEntries(plan.byId.get(id)!.inputs.map((input) => [input.alias, input.instances.map((i) => i.id)]))

  it("names instances, resolves per-instance params and empty deps", () => {
    expect(plan.byStage.get("train")!.map((i) => i.id)).toEqual([
      "train[split=S1_age,seed=42]",
      "train[split=S1_age,seed=456]",
      "train[split=S2_pers,seed=42]",
      "train[split=S2_pers,seed=456]",
    ])
    expect(plan.byId.get("split[split=S2_pers]")!.params).toEqual({ "data.seed": 7, "splits.S2_pers": { attr: "pers" } })
    expect(plan.byId.get("split[split=S2_pers]")!.depGlobs).toEqual([])
    expect(plan.byId.get("compare")!.materialisePath).toBe("out/compare")
    expect(plan.byId.get("train[split=S2_pers,seed=456]")!.materialisePath).toBe("out/train/split=S2_pers/seed=456")
  })

  it("binds full, partial and explicit matrix values", () => {
    expect(inputsOf("train[split=S2_pers,seed=42]")).toEqual({ data: ["split[split=S2_pers]"] })
    expect(inputsOf("eval[split=S2_pers,seed=456]")).toEqual({ model: ["train[split=S2_pers,seed=456]"], first: ["split[split=S1_age]"] })
    expect(inputsOf("per_split[split=S1_age]")).toEqual({ evals: ["eval[split=S1_age,seed=42]", "eval[split=S1_age,seed=456]"] })
    expect(inputsOf("compare").evals).toHaveLength(4)
  })
})

describe("JSON Schema", () => {
  it("matches the committed schema file", () => {
    expect(readFileSync(join(repoRoot, "schema/pipeline.schema.json"), "utf8")).toBe(pipelineJsonSchema())
  })
})
