/**
 * Stage `compare`: gathers every eval, baseline-eval, weight-stats and split
 * output and writes `report.md`, `report.json` and SVG plots under `plots/`.
 * Verdict thresholds come from `verdict.match`, `verdict.lean` and
 * `verdict.equal_pp`.
 */
import { Effect } from "effect"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { defineStage, type UpstreamInstance } from "../src/engine/stage.js"
import { renderReportFiles, type ReportInput, type SeedResult, type WeightStats } from "../src/report/index.js"
import { attempt } from "./lib/effect.js"
import { numberParam } from "./lib/params.js"

interface EvalFile {
  readonly correct: number
  readonly total: number
  readonly truncated: number
  readonly curve: ReadonlyArray<{ step: number; prefAcc: number }>
}

const readJson = <T>(instance: UpstreamInstance, file: string): T => {
  const path = instance.files[file]
  if (path === undefined) throw new Error(`upstream ${instance.name} has no output ${file}`)
  return JSON.parse(readFileSync(path, "utf8")) as T
}

const splitDefinitions = (params: Readonly<Record<string, unknown>>) => {
  const splits = params["data.splits"] as Record<string, { expected: ReportInput["splits"][number]["expected"] }>
  return Object.entries(splits).map(([name, definition]) => ({ name, expected: definition.expected }))
}

/** Builds the report input from the upstream outputs, failing with the missing instance's name. */
const gather = (inputs: Readonly<Record<string, ReadonlyArray<UpstreamInstance>>>, params: Readonly<Record<string, unknown>>) => {
  const methods = params["methods"] as string[]
  const seeds = (params["seeds"] as number[]).map(Number)
  const splits = splitDefinitions(params)
  const evals = new Map<string, EvalFile>()
  for (const instance of inputs["evals"] ?? []) {
    const m = instance.matrix
    evals.set(`${m["method"]}|${m["split"]}|${m["group"]}|${m["seed"]}`, readJson<EvalFile>(instance, "eval.json"))
  }
  const evalOf = (method: string, split: string, group: string, seed: number): EvalFile => {
    const found = evals.get(`${method}|${split}|${group}|${seed}`)
    if (found === undefined) throw new Error(`no eval output for method=${method}, split=${split}, group=${group}, seed=${seed}`)
    return found
  }
  const results: Record<string, Record<string, SeedResult[]>> = {}
  const curves: NonNullable<ReportInput["curves"]>[number][] = []
  for (const method of methods) {
    results[method] = {}
    for (const split of splits) {
      results[method]![split.name] = seeds.map((seed) => {
        const a = evalOf(method, split.name, "A", seed)
        const b = evalOf(method, split.name, "B", seed)
        for (const [group, file] of [["A", a], ["B", b]] as const) {
          curves.push({ method, split: split.name, group, seed, points: file.curve })
        }
        return { seed, a: { count: a.correct, total: a.total }, b: { count: b.correct, total: b.total } }
      })
    }
  }
  const baseline: Record<string, { seed: number; accuracy: { count: number; total: number } }[]> = {}
  for (const instance of inputs["baselines"] ?? []) {
    const method = String(instance.matrix["method"])
    const file = readJson<{ correct: number; total: number }>(instance, "baseline.json")
    ;(baseline[method] ??= []).push({ seed: Number(instance.matrix["seed"]), accuracy: { count: file.correct, total: file.total } })
  }
  for (const list of Object.values(baseline)) list.sort((x, y) => seeds.indexOf(x.seed) - seeds.indexOf(y.seed))
  const weights: Record<string, { A: WeightStats; B: WeightStats }> = {}
  for (const instance of inputs["weights"] ?? []) {
    const split = String(instance.matrix["split"])
    const group = String(instance.matrix["group"]) as "A" | "B"
    const entry = (weights[split] ??= {} as { A: WeightStats; B: WeightStats })
    entry[group] = readJson<WeightStats>(instance, "stats.json")
  }
  const input: ReportInput = { methods, seeds, splits, results, baseline, weights, curves }
  return input
}

interface SplitSummaryFile {
  readonly name: string
  readonly groups: Record<"A" | "B", { label: string; all: { pairs: number; users: number }; train: { pairs: number }; eval: { pairs: number } }>
}

/** Pairs cut to `model.max_length`, per split and group, from the eval and weight-stats outputs. */
const truncation = (inputs: Readonly<Record<string, ReadonlyArray<UpstreamInstance>>>) => {
  const evalTruncated = new Map<string, number>()
  for (const instance of inputs["evals"] ?? []) {
    const key = `${instance.matrix["split"]}|${instance.matrix["group"]}`
    // Every method and seed evaluates the same pairs, so one instance per group is enough.
    if (!evalTruncated.has(key)) evalTruncated.set(key, readJson<EvalFile>(instance, "eval.json").truncated)
  }
  const trainTruncated = new Map<string, { truncated: number; pairs: number }>()
  for (const instance of inputs["weights"] ?? []) {
    const stats = readJson<{ truncated: number; pairs: number }>(instance, "stats.json")
    trainTruncated.set(`${instance.matrix["split"]}|${instance.matrix["group"]}`, stats)
  }
  return { evalTruncated, trainTruncated }
}

/**
 * Renders the group sizes per split, so confounds in size stay visible next
 * to the verdicts, with how many pairs lost tokens to `model.max_length`.
 */
const dataSection = (inputs: Readonly<Record<string, ReadonlyArray<UpstreamInstance>>>): string => {
  const { evalTruncated, trainTruncated } = truncation(inputs)
  const rows = (inputs["splits"] ?? []).map((instance) => {
    const s = readJson<SplitSummaryFile>(instance, "summary.json")
    const cell = (g: "A" | "B") => {
      const group = s.groups[g]
      const scored = trainTruncated.get(`${s.name}|${g}`)
      const cut = [
        `${evalTruncated.get(`${s.name}|${g}`) ?? "?"} of ${group.eval.pairs} eval pairs`,
        scored === undefined ? undefined : `${scored.truncated} of ${scored.pairs} scored train pairs`,
      ].filter((part) => part !== undefined)
      return `${group.label}: ${group.all.users} users, ${group.all.pairs} pairs (train ${group.train.pairs}, eval ${group.eval.pairs}); truncated: ${cut.join(", ")}`
    }
    return `| ${s.name} | ${cell("A")} | ${cell("B")} |`
  })
  return [
    "",
    "## Data",
    "",
    "Group sizes after the split rules and the partition, and how many pairs were cut to `model.max_length` tokens.",
    "",
    "| split | group A | group B |",
    "| --- | --- | --- |",
    ...rows,
    "",
  ].join("\n")
}

export default defineStage({
  run: (ctx) =>
    Effect.gen(function* () {
      const input = yield* attempt(() => gather(ctx.inputs, ctx.params))
      const files = yield* attempt(() =>
        renderReportFiles(input, {
          thresholds: {
            match: numberParam(ctx.params, "verdict.match", { min: 0, max: 1 }),
            lean: numberParam(ctx.params, "verdict.lean", { min: 0, max: 1 }),
            equalPp: numberParam(ctx.params, "verdict.equal_pp", { min: 0 }),
          },
        }),
      )
      const extra = yield* attempt(() => dataSection(ctx.inputs))
      yield* attempt(() => {
        for (const file of files) {
          const path = join(ctx.outDir, file.path)
          mkdirSync(dirname(path), { recursive: true })
          writeFileSync(path, file.path === "report.md" ? file.contents + extra : file.contents)
        }
      })
      yield* ctx.log(`wrote ${files.length} report files`)
    }),
})
