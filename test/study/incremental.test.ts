/**
 * Incrementality of the study pipeline as researchers use it: reruns,
 * added seeds, invalidated seeds and one changed hyper-parameter re-run
 * exactly the instances they affect, and `pipe verify` passes on a clean
 * build. Sizes are tiny (a few steps, 16 eval pairs) so the real stages run
 * quickly.
 */
import { describe, expect, it } from "vitest"
import { keepSplits, makeStudyProject, ranIds } from "./project.js"

const project = makeStudyProject((doc) => {
  keepSplits(doc, ["S1_age"])
  doc.params["seeds"] = [42, 456]
  doc.params["methods"] = ["dpo"]
  doc.params["reference"]["steps"] = 2
  doc.params["train"]["steps"] = 2
  doc.params["train"]["size"] = 32
  doc.params["eval"]["pairs"] = 16
  doc.params["eval"]["every"] = 0
  doc.params["weights"]["max_pairs"] = 16
})

const seedInstances = (seed: number) => [
  `baseline-eval[method=dpo,seed=${seed}]`,
  `eval[method=dpo,split=S1_age,group=A,seed=${seed}]`,
  `eval[method=dpo,split=S1_age,group=B,seed=${seed}]`,
  `train[method=dpo,split=S1_age,group=A,seed=${seed}]`,
  `train[method=dpo,split=S1_age,group=B,seed=${seed}]`,
]

describe("study pipeline incrementality", () => {
  it("builds, then reruns nothing", async () => {
    const first = await project.pipe("run", "compare", "--json")
    expect(first.code, first.stderr).toBe(0)
    expect(ranIds(first)).toHaveLength(16)
    const second = await project.pipe("run", "compare", "--json")
    expect(second.code, second.stderr).toBe(0)
    expect(ranIds(second)).toEqual([])
  })

  it("adding a seed runs only that seed and compare", async () => {
    project.write((doc) => {
      doc.params["seeds"] = [42, 456, 789]
    })
    const result = await project.pipe("run", "compare", "--json")
    expect(result.code, result.stderr).toBe(0)
    expect(ranIds(result)).toEqual([...seedInstances(789), "compare"].sort())
  })

  it("invalidating a seed reruns exactly that seed and compare", async () => {
    const invalidated = await project.pipe("invalidate", "--where", "seed=456")
    expect(invalidated.code, invalidated.stderr).toBe(0)
    const result = await project.pipe("run", "compare", "--json")
    expect(result.code, result.stderr).toBe(0)
    expect(ranIds(result)).toEqual([...seedInstances(456), "compare"].sort())
  })

  it("verify passes on a clean build", async () => {
    const result = await project.pipe("verify", "compare")
    expect(result.code, result.stdout + result.stderr).toBe(0)
  })

  it("rejects a bad numeric param before running", async () => {
    const result = await project.pipe("run", "compare", "--json", "--set", "train.steps=abc")
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('param train.steps must be an integer >= 0, got "abc"')
    expect(ranIds(result)).toEqual([])
  })

  it("changing train.beta reruns training, evals and compare only", async () => {
    const result = await project.pipe("run", "compare", "--json", "--set", "train.beta=0.2")
    expect(result.code, result.stderr).toBe(0)
    const stages = new Set(ranIds(result).map((id) => id.replace(/\[.*$/, "")))
    expect([...stages].sort()).toEqual(["baseline-eval", "compare", "eval", "train"])
    expect(ranIds(result)).toHaveLength(3 * 5 + 1)
  })
})
