import { afterAll, describe, expect, it } from "vitest"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import type { RunEvent } from "../../src/engine/events.js"
import { cli, makeProject, pipe, removeProjects, runIn } from "./helpers.js"

afterAll(removeProjects)

const spec = `resources: { gpu: 1 }
stages:
  bad:
    module: stages/bad.ts
    matrix: { mode: [fail, missing, crash] }
    outputs: [out.txt]
  good:
    module: stages/good.ts
    matrix: { n: [1, 2] }
    outputs: [out.txt]
  after:
    module: stages/good.ts
    needs: { bad: bad }
    outputs: [out.txt]
  gpu:
    module: stages/good.ts
    matrix: { n: [1, 2] }
    resources: { gpu: 1 }
    outputs: [out.txt]
`

const good = `import * as Effect from "effect/Effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
export default {
  run: (ctx: any) => Effect.gen(function* () {
    yield* ctx.log("working on " + ctx.instance)
    yield* Effect.sleep(Number(process.env.GOOD_SLEEP_MS ?? 0))
    writeFileSync(join(ctx.outDir, "out.txt"), ctx.instance)
  }),
}
`

const bad = `import * as Effect from "effect/Effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
export default {
  run: (ctx: any) => Effect.gen(function* () {
    console.log("bad stage starting")
    if (ctx.matrix.mode === "fail") return yield* Effect.fail({ _tag: "StageError", message: "the data file has no rows" })
    if (ctx.matrix.mode === "crash") {
      setTimeout(() => { throw new Error("async crash outside the effect") }, 1)
      yield* Effect.sleep(5000)
    }
    writeFileSync(join(ctx.outDir, "other.txt"), "x")
  }),
}
`

const project = (): string => makeProject({ "pipeline.yaml": spec, "stages/good.ts": good, "stages/bad.ts": bad })

const failed = (events: ReadonlyArray<RunEvent>): Record<string, string> =>
  Object.fromEntries(events.flatMap((e) => (e.type === "instance-failed" ? [[e.instance.id, e.error]] : [])))

describe("failing stages", () => {
  it("reports stage errors, missing outputs and crashes with --keep-going", async () => {
    const dir = project()
    const run = await runIn(dir, { targets: ["after", "good"], keepGoing: true })
    const errors = failed(run.events)
    expect(errors["bad[mode=fail]"]).toBe("the data file has no rows")
    expect(errors["bad[mode=missing]"]).toBe("the stage reported success but did not write its declared output out.txt (it wrote: other.txt)")
    expect(errors["bad[mode=crash]"]).toMatch(/^uncaught error: Error: async crash outside the effect/)
    expect(run.events.find((e) => e.type === "instance-skipped")).toMatchObject({ instance: { id: "after" }, reason: "upstream bad[mode=crash] failed" })
    expect(run.result?.ran).toBe(2)
    expect(run.result?.failed).toBe(3)
    const failure = run.events.find((e) => e.type === "instance-failed" && e.instance.id === "bad[mode=fail]")
    if (failure?.type !== "instance-failed") throw new Error("no failure event")
    expect(readFileSync(failure.logPath, "utf8")).toBe("bad stage starting\nerror: the data file has no rows\n")
    // Nothing of a failed instance is cached or locked.
    const lock = JSON.parse(readFileSync(join(dir, "pipeline.lock"), "utf8")) as { instances: Record<string, unknown> }
    expect(Object.keys(lock.instances).sort()).toEqual(["good[n=1]", "good[n=2]"])
    const again = await runIn(dir, { targets: ["bad[mode=missing]"], keepGoing: true })
    expect(again.ran).toEqual(["bad[mode=missing]"])
  })

  it("stops at the first failure by default and exits 1", async () => {
    const dir = project()
    const result = await pipe(dir, ["run", "bad[mode=fail]", "good", "-j", "2"], { GOOD_SLEEP_MS: "4000" })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("failed    bad[mode=fail] after")
    expect(result.stdout).toContain(": the data file has no rows\n")
    // The running instance is stopped and the queued one never starts.
    expect(result.stdout).not.toContain("done      good")
    expect(result.stdout).not.toContain("run       good[n=2]")
    expect(result.stdout).toMatch(/finished: 0 ran, 0 cached, 1 failed, 2 skipped/)
  })

  it("reports a dep glob that matches no file with its position", async () => {
    const dir = makeProject({
      "pipeline.yaml": "stages:\n  load:\n    module: stages/good.ts\n    deps: [data/*.csv]\n    outputs: [out.txt]\n",
      "stages/good.ts": good,
    })
    const result = await cli(dir, ["run"])
    expect(result.code).toBe(2)
    expect(result.stderr).toBe(
      [
        `${join(dir, "pipeline.yaml")}:4:11: error: dep "data/*.csv" of load matches no file`,
        " 4 |     deps: [data/*.csv]",
        "   |           ^",
        "  expected: a glob that matches at least one file, or an empty param to declare no dep",
        "",
      ].join("\n"),
    )
  })

  it("runs instances in parallel but holds resource slots", async () => {
    const dir = project()
    const run = await runIn(dir, { targets: ["good", "gpu"], jobs: 2 })
    const order: Array<string> = []
    for (const event of run.events) {
      if (event.type === "instance-started") order.push(`start ${event.instance.id}`)
      if (event.type === "instance-succeeded") order.push(`end ${event.instance.id}`)
    }
    const index = (entry: string): number => order.indexOf(entry)
    // The gpu instances never overlap: one ends before the other starts.
    const gpuStarts = order.filter((entry) => entry.startsWith("start gpu"))
    expect(gpuStarts).toHaveLength(2)
    const [firstGpu, secondGpu] = gpuStarts.map((s) => s.slice("start ".length))
    expect(index(`end ${firstGpu}`)).toBeLessThan(index(`start ${secondGpu}`))
    // With -j 2 two instances run at once: the second start comes before the first end.
    expect(index(order.filter((e) => e.startsWith("start"))[1]!)).toBeLessThan(index(order.find((e) => e.startsWith("end"))!))
    expect(existsSync(join(dir, "out/gpu/n=2/out.txt"))).toBe(true)
  })
})
