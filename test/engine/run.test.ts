import { afterAll, describe, expect, it } from "vitest"
import { existsSync } from "node:fs"
import { join } from "node:path"
import { echoStage, makeProject, pipe, readText, removeProjects, runIn, writeText } from "./helpers.js"

afterAll(removeProjects)

const basicSpec = `params:
  seeds: [42]
  splits:
    S1: { size: 3 }
    S2: { size: 4 }
  train: { steps: 5, beta: 0.1 }
stages:
  split:
    module: stages/split.ts
    matrix:
      split: \${splits}
    params: ["splits.\${split}"]
    outputs: [data.txt]
  train:
    module: stages/train.ts
    matrix: { split: "\${splits}", seed: "\${seeds}" }
    needs: { data: "split@{split}" }
    params: [train.steps]
    outputs: [model.txt]
  compare:
    module: stages/compare.ts
    needs: { models: train }
    params: [train.beta]
    outputs: [report.md]
`

const basicProject = (): string =>
  makeProject({
    "pipeline.yaml": basicSpec,
    "stages/split.ts": echoStage(["data.txt"]),
    "stages/train.ts": echoStage(["model.txt"], 'import { helper } from "../lib/helper.js"\nvoid helper'),
    "lib/helper.ts": "export const helper = 1\n",
    "stages/compare.ts": echoStage(["report.md"]),
  })

describe("pipe run", () => {
  it("builds, then a second run is fully cached", async () => {
    const dir = basicProject()
    const first = await pipe(dir, ["run", "-j", "2"])
    expect(first.stderr).toBe("")
    expect(first.code).toBe(0)
    expect(first.stdout).toContain("finished: 5 ran, 0 cached, 0 failed, 0 skipped")
    expect(first.stdout).toContain("outputs   compare -> out/compare")
    expect(readText(dir, "out/compare/report.md")).toContain("train[split=S2,seed=42]")
    const lock = readText(dir, "pipeline.lock")
    const second = await pipe(dir, ["run"])
    expect(second.code).toBe(0)
    expect(second.stdout).toContain("finished: 0 ran, 5 cached, 0 failed, 0 skipped")
    expect(readText(dir, "pipeline.lock")).toBe(lock)
  })

  it("re-runs only instances that read an edited param", async () => {
    const dir = basicProject()
    await runIn(dir)
    writeText(dir, "pipeline.yaml", basicSpec.replace("beta: 0.1", "beta: 0.2"))
    const beta = await runIn(dir)
    expect(beta.ran).toEqual(["compare"])
    writeText(dir, "pipeline.yaml", basicSpec.replace("beta: 0.1", "beta: 0.2").replace("steps: 5", "steps: 6"))
    const steps = await runIn(dir)
    // train reads train.steps; compare re-runs because its upstream outputs changed.
    expect([...steps.ran].sort()).toEqual(["compare", "train[split=S1,seed=42]", "train[split=S2,seed=42]"])
    expect([...steps.cached].sort()).toEqual(["split[split=S1]", "split[split=S2]"])
  })

  it("re-runs a stage when a file it imports changes", async () => {
    const dir = basicProject()
    await runIn(dir)
    writeText(dir, "lib/helper.ts", "export const helper = 2\n")
    const run = await runIn(dir)
    expect([...run.ran].sort()).toEqual(["train[split=S1,seed=42]", "train[split=S2,seed=42]"])
    // Outputs do not depend on the helper, so compare is cut off early.
    expect(run.cached).toContain("compare")
    expect(existsSync(join(dir, "out/compare/report.md"))).toBe(true)
  })
})
