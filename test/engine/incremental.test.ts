import { afterAll, describe, expect, it } from "vitest"
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Project } from "../../src/engine/project.js"
import { invalidate } from "../../src/engine/maintenance.js"
import { parseWhere, selectInstances } from "../../src/engine/select.js"
import { makeProject, readText, removeProjects, runIn, writeText } from "./helpers.js"

afterAll(removeProjects)

const spec = `params:
  seeds: [42, 456]
  gen: { scale: 1 }
  sum: { label: total }
profiles:
  labelled: { sum.label: labelled }
  wide: { gen: { scale: 2 } }
stages:
  gen:
    module: stages/gen.ts
    matrix:
      seed: \${seeds}
    params: [gen.scale]
    outputs: [value.txt]
  sum:
    module: stages/sum.ts
    needs: { values: gen }
    params: [sum.label]
    outputs: [total.txt]
`

const genStage = `import * as Effect from "effect/Effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
export default {
  run: (ctx: any) => Effect.sync(() => {
    console.log("gen " + ctx.instance)
    writeFileSync(join(ctx.outDir, "value.txt"), String(Number(ctx.matrix.seed) * Number(ctx.params["gen.scale"])))
  }),
}
`

const sumStage = `import * as Effect from "effect/Effect"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
export default {
  run: (ctx: any) => Effect.sync(() => {
    const total = ctx.inputs.values.reduce((sum: number, u: any) => sum + Number(readFileSync(u.files["value.txt"], "utf8")), 0)
    writeFileSync(join(ctx.outDir, "total.txt"), ctx.params["sum.label"] + " " + total + "\\n")
  }),
}
`

const smallProject = (): string => makeProject({ "pipeline.yaml": spec, "stages/gen.ts": genStage, "stages/sum.ts": sumStage })

const sorted = (ids: ReadonlyArray<string>): Array<string> => [...ids].sort()

const GEN = ["gen[seed=42]", "gen[seed=456]"]

describe("incremental runs", () => {
  it("re-runs nothing after touching files without changing them", async () => {
    const dir = smallProject()
    const first = await runIn(dir)
    expect(sorted(first.ran)).toEqual([...GEN, "sum"])
    const later = new Date(Date.now() + 5_000)
    for (const file of ["pipeline.yaml", "stages/gen.ts", "stages/sum.ts"]) utimesSync(join(dir, file), later, later)
    const second = await runIn(dir)
    expect(second.ran).toEqual([])
    expect(sorted(second.cached)).toEqual([...GEN, "sum"])
  })

  it("re-runs a stage whose module was renamed", async () => {
    const dir = smallProject()
    await runIn(dir)
    renameSync(join(dir, "stages/gen.ts"), join(dir, "stages/generate.ts"))
    writeText(dir, "pipeline.yaml", spec.replace("stages/gen.ts", "stages/generate.ts"))
    const run = await runIn(dir)
    expect(sorted(run.ran)).toEqual(GEN)
    // Identical outputs keep the downstream stage cached.
    expect(run.cached).toEqual(["sum"])
  })

  it("rebuilds an output object deleted by hand", async () => {
    const dir = smallProject()
    const first = await runIn(dir)
    const outputs = first.result!.outcomes.get("gen[seed=42]")!
    if (outputs.kind !== "ok") throw new Error("gen[seed=42] did not build")
    const hash = outputs.outputs["value.txt"]!
    const object = join(dir, "cache/objects", hash.slice(0, 2), hash.slice(2))
    expect(existsSync(object)).toBe(true)
    rmSync(object)
    const project = await Project.open({ file: join(dir, "pipeline.yaml") })
    const states = await project.evaluate(project.plan.instances)
    expect(states.get("gen[seed=42]")).toMatchObject({ kind: "stale", reasons: ["output value.txt is missing from the store"] })
    expect(states.get("sum")).toMatchObject({ kind: "blocked", reasons: ["upstream gen[seed=42] is stale"] })
    const run = await runIn(dir)
    expect(run.ran).toEqual(["gen[seed=42]"])
    expect(readFileSync(object, "utf8")).toBe("42")
  })

  it("detects a flipped byte in a stored object and rebuilds it", async () => {
    const dir = smallProject()
    const first = await runIn(dir)
    const outcome = first.result!.outcomes.get("sum")!
    if (outcome.kind !== "ok") throw new Error("sum did not build")
    const hash = outcome.outputs["total.txt"]!
    const object = join(dir, "cache/objects", hash.slice(0, 2), hash.slice(2))
    // Let the stat cache record the object as verified first.
    await runIn(dir)
    const bytes = readFileSync(object)
    bytes[0] = bytes[0]! ^ 0x01
    const { mtime } = statSync(object)
    chmodSync(object, 0o644) // objects are stored read-only
    writeFileSync(object, bytes)
    utimesSync(object, mtime, mtime) // same size and mtime: only ctime betrays the edit
    const run = await runIn(dir)
    expect(run.ran).toEqual(["sum"])
    expect(run.events.find((e) => e.type === "instance-started")).toMatchObject({ reason: "output total.txt is corrupt in the store (hash mismatch)" })
    expect(readFileSync(object, "utf8")).toBe("total 498\n")
  })

  it("runs only the new instances after a seed is added", async () => {
    const dir = smallProject()
    await runIn(dir)
    writeText(dir, "pipeline.yaml", spec.replace("seeds: [42, 456]", "seeds: [42, 456, 789]"))
    const run = await runIn(dir)
    expect(sorted(run.ran)).toEqual(["gen[seed=789]", "sum"])
    expect(readText(dir, "out/sum/total.txt")).toBe("total 1287\n")
  })

  it("re-runs an invalidated seed and its dependents only", async () => {
    const dir = smallProject()
    await runIn(dir)
    const project = await Project.open({ file: join(dir, "pipeline.yaml") })
    const selected = project.plan.instances.filter((i) => i.matrix.seed === 456)
    const result = await invalidate(project, selected)
    expect(result.instances).toEqual(["gen[seed=456]", "sum"])
    const run = await runIn(dir)
    expect(run.ran).toEqual(["gen[seed=456]", "sum"])
    expect(run.cached).toEqual(["gen[seed=42]"])
    expect(run.events.find((e) => e.type === "instance-started")).toMatchObject({ reason: "cache entry missing (invalidated or removed by gc)" })
  })

  it("keeps lock entries a one-off run does not define", async () => {
    const dir = smallProject()
    await runIn(dir)
    const fullLock = JSON.parse(readText(dir, "pipeline.lock")) as { instances: Record<string, unknown> }
    expect(Object.keys(fullLock.instances).sort()).toEqual([...GEN, "sum"])
    await runIn(dir, { project: { sets: ["seeds=[42]"] } })
    const lock = JSON.parse(readText(dir, "pipeline.lock")) as { instances: Record<string, unknown> }
    expect(Object.keys(lock.instances)).toContain("gen[seed=456]")
    const back = await runIn(dir)
    expect(back.ran).toEqual([])
    expect(sorted(back.cached)).toEqual([...GEN, "sum"])
  })

  it("re-runs exactly the instances a profile or --set changes", async () => {
    const dir = smallProject()
    await runIn(dir)
    const labelled = await runIn(dir, { project: { profile: "labelled" } })
    expect(labelled.ran).toEqual(["sum"])
    expect(labelled.events.find((e) => e.type === "instance-started")).toMatchObject({ reason: 'param sum.label changed ("total" -> "labelled")' })
    const wide = await runIn(dir, { project: { profile: "wide" } })
    expect(sorted(wide.ran)).toEqual([...GEN, "sum"])
    const set = await runIn(dir, { project: { sets: ["sum.label=custom"] } })
    expect(set.ran).toEqual(["sum"])
    expect(readText(dir, "out/sum/total.txt")).toBe("custom 498\n")
    const back = await runIn(dir)
    expect(back.ran).toEqual([])
  })

  it("replays only the forced seed with --force --where", async () => {
    const dir = smallProject()
    await runIn(dir)
    const run = await runIn(dir, { force: true, where: ["seed=42"] })
    expect(run.ran).toEqual(["gen[seed=42]"])
    expect(run.events.find((e) => e.type === "instance-succeeded")).toMatchObject({ unchanged: true })
    expect(sorted(run.cached)).toEqual(["gen[seed=456]", "sum"])
  })

  it("selects instances by partial matrix values", async () => {
    const dir = smallProject()
    const project = await Project.open({ file: join(dir, "pipeline.yaml") })
    expect(selectInstances(project.plan, ["gen[seed=456]"]).map((i) => i.id)).toEqual(["gen[seed=456]"])
    expect(selectInstances(project.plan, ["gen"]).map((i) => i.id)).toEqual(GEN)
  })

  it("rejects a --where value no instance has", async () => {
    const dir = smallProject()
    const project = await Project.open({ file: join(dir, "pipeline.yaml") })
    expect(() => parseWhere(project.plan, ["seed=999"])).toThrow(
      "--where seed=999: no instance has seed=999; values of seed: 42, 456",
    )
    expect(parseWhere(project.plan, ["seed=42,456"])).toEqual({ seed: ["42", "456"] })
  })
})
