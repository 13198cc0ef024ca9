import { describe, expect, it } from "vitest"
import type { GraphModel as EngineGraphModel } from "../../src/engine/graph.js"
import { graphFromEngine, renderGraph, type GraphModel } from "../../src/ui/graph.js"

const model: GraphModel = {
  stages: [
    { name: "split", instances: 3, stale: 0, fresh: 3, needs: [] },
    { name: "base-model", instances: 1, stale: 0, fresh: 1, needs: [] },
    { name: "baseline-eval", instances: 3, stale: 0, fresh: 3, needs: ["split", "base-model"] },
    {
      name: "train",
      instances: 4,
      stale: 1,
      fresh: 3,
      needs: ["split", "base-model"],
      instanceList: [
        { name: "train[method=dpo,seed=42]", stale: false },
        { name: "train[method=wpo,seed=42]", stale: true, reason: "param train.beta changed" },
        { name: "train[method=dpo,seed=456]", stale: false },
        { name: "train[method=wpo,seed=456]", stale: false },
      ],
    },
    { name: "eval", instances: 4, stale: 4, fresh: 0, needs: ["train"] },
    { name: "weight-stats", instances: 2, stale: 1, fresh: 1, needs: ["train"] },
    { name: "compare", instances: 1, stale: 1, fresh: 0, needs: ["eval", "baseline-eval", "weight-stats"] },
  ],
}

const lines = (...rows: Array<string>): string => rows.join("\n")

describe("renderGraph", () => {
  it("layers with counts and marks", () => {
    expect(renderGraph(model)).toBe(
      lines(
        "1 ┬ split          3 instances  ✔ fresh",
        "  └ base-model      1 instance  ✔ fresh",
        "2 ┬ baseline-eval  3 instances  ✔ fresh               ← split, base-model",
        "  └ train          4 instances  ✘ 1 stale · 3 fresh   ← split, base-model",
        "3 ┬ eval           4 instances  ✘ stale               ← train",
        "  └ weight-stats   2 instances  ✘ 1 stale · 1 fresh   ← train",
        "4 ─ compare         1 instance  ✘ stale",
        "     ← eval, baseline-eval, weight-stats",
      ),
    )
  })

  it("expand lists instances with reasons", () => {
    const drawing = renderGraph(model, { expand: true }).split("\n")
    expect(drawing.slice(3, 8)).toEqual([
      "  └ train          4 instances  ✘ 1 stale · 3 fresh   ← split, base-model",
      "     ✔ train[method=dpo,seed=42]",
      "     ✘ train[method=wpo,seed=42]  param train.beta changed",
      "     ✔ train[method=dpo,seed=456]",
      "     ✔ train[method=wpo,seed=456]",
    ])
  })

  it("tree marks repeated subtrees", () => {
    expect(renderGraph(model, { style: "tree" })).toBe(
      lines(
        "compare (1 instance) ✘ stale",
        "├─ eval (4 instances) ✘ stale",
        "│  └─ train (4 instances) ✘ 1 stale · 3 fresh",
        "│     ├─ split (3 instances) ✔ fresh",
        "│     └─ base-model (1 instance) ✔ fresh",
        "├─ baseline-eval (3 instances) ✔ fresh",
        "│  ├─ split (3 instances) ✔ fresh",
        "│  └─ base-model (1 instance) ✔ fresh",
        "└─ weight-stats (2 instances) ✘ 1 stale · 1 fresh",
        "   └─ train (4 instances) ✘ 1 stale · 3 fresh (*)",
      ),
    )
  })

  it("ascii mode uses only ASCII", () => {
    for (const style of ["layers", "tree"] as const) {
      const drawing = renderGraph(model, { style, expand: true, ascii: true })
      expect(drawing).toMatch(/^[\x20-\x7e\n]*$/)
    }
  })

  it("respects the width", () => {
    for (const line of renderGraph(model, { expand: true, columns: 40 }).split("\n")) {
      expect([...line].length).toBeLessThanOrEqual(40)
    }
  })

  it("rejects unknown needs", () => {
    const broken: GraphModel = { stages: [{ name: "train", instances: 1, stale: 1, fresh: 0, needs: ["split"] }] }
    expect(() => renderGraph(broken)).toThrow('graph: stage "train" needs "split", which is not a stage of the graph')
  })

  it("rejects cycles", () => {
    const cyclic: GraphModel = {
      stages: [
        { name: "a", instances: 1, stale: 0, fresh: 1, needs: ["b"] },
        { name: "b", instances: 1, stale: 0, fresh: 1, needs: ["a"] },
      ],
    }
    expect(() => renderGraph(cyclic)).toThrow("graph: stages form a cycle: a → b → a")
  })

  it("marks blocked instances", () => {
    const engine: EngineGraphModel = {
      stages: [
        { name: "split", module: "stages/split.ts", axes: ["split"], instances: 2, counts: { fresh: 1, stale: 1, blocked: 0 } },
        { name: "train", module: "stages/train.ts", axes: ["split"], instances: 2, counts: { fresh: 1, stale: 0, blocked: 1 } },
      ],
      stageEdges: [{ from: "split", to: "train", alias: "data", ref: "split@{split}" }],
      instances: [
        { id: "split[split=a]", stage: "split", matrix: { split: "a" }, state: "fresh", key: "k1", reasons: [], inputs: {}, outputPath: "/p/out/split/a" },
        { id: "split[split=b]", stage: "split", matrix: { split: "b" }, state: "stale", key: "k2", reasons: ["param split.ratio changed"], inputs: {}, outputPath: "/p/out/split/b" },
        { id: "train[split=a]", stage: "train", matrix: { split: "a" }, state: "fresh", key: "k3", reasons: [], inputs: { data: ["split[split=a]"] }, outputPath: "/p/out/train/a" },
        { id: "train[split=b]", stage: "train", matrix: { split: "b" }, state: "blocked", reasons: ["upstream split[split=b] is stale"], inputs: { data: ["split[split=b]"] }, outputPath: "/p/out/train/b" },
      ],
      instanceEdges: [
        { from: "split[split=a]", to: "train[split=a]", alias: "data" },
        { from: "split[split=b]", to: "train[split=b]", alias: "data" },
      ],
    }
    expect(renderGraph(graphFromEngine(engine), { expand: true })).toBe(
      lines(
        "1 ─ split  2 instances  split  ✘ 1 stale · 1 fresh",
        "     ✔ split[split=a]",
        "     ✘ split[split=b]  param split.ratio changed",
        "2 ─ train  2 instances  split  ◌ 1 blocked · 1 fresh   ← split",
        "     ✔ train[split=a]",
        "     ◌ train[split=b]  upstream split[split=b] is stale",
      ),
    )
  })

  it("wraps long reasons under the instance", () => {
    const reason = Array.from({ length: 8 }, (_, index) => `upstream eval[seed=${index}] is stale;`).join(" ")
    const graph: GraphModel = {
      stages: [
        {
          name: "compare",
          instances: 1,
          stale: 0,
          fresh: 0,
          blocked: 1,
          needs: [],
          instanceList: [{ name: "compare", stale: false, blocked: true, reason }],
        },
      ],
    }
    expect(renderGraph(graph, { expand: true, columns: 50 })).toBe(
      lines(
        "1 ─ compare  1 instance  ◌ blocked",
        "     ◌ compare",
        "         upstream eval[seed=0] is stale; upstream",
        "         eval[seed=1] is stale; upstream",
        "         eval[seed=2] is stale; upstream …",
      ),
    )
  })
})
