import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { DataError } from "../../src/data/errors.ts"
import { loadPairsFile } from "../../src/data/jsonl-pairs.ts"
import {
  SPLIT_OUTPUT_FILES,
  buildPool,
  buildSplit,
  numberStats,
  partitionOptionsFromParams,
  writeSplitOutputs,
} from "../../src/data/partition.ts"
import { createRng } from "../../src/data/random.ts"
import { parseSplit } from "../../src/data/splits.ts"
import type { PreferencePair } from "../../src/data/types.ts"

const errorOf = (run: () => unknown): DataError => {
  try {
    run()
  } catch (error) {
    if (error instanceof DataError) return error
    throw error
  }
  throw new Error("expected a DataError, but the call succeeded")
}

/** 120 users, 1-9 pairs each; group by `group` attribute (A: 60 users, B: 60 users). */
const makeDataset = (): PreferencePair[] => {
  const rng = createRng("partition-test")
  const pairs: PreferencePair[] = []
  for (let u = 0; u < 120; u++) {
    const n = rng.int(1, 9)
    for (let i = 0; i < n; i++) {
      pairs.push({
        id: `u${u}:${i}`,
        prompt: `prompt ${u} ${i}`,
        chosen: "c",
        rejected: "r",
        user_id: `u${u}`,
        source: u % 3 === 0 ? "model-x" : "model-y",
        score_gap: rng.int(1, 60),
        turn: 1 + (i % 3),
        attributes: { group: u % 2 === 0 ? "a" : "b" },
      })
    }
  }
  return pairs
}

const split = parseSplit("G", { attribute: "group", A: { in: ["a"] }, B: { in: ["b"] }, expected: "A>B" })
const dataset = makeDataset()
const countA = dataset.filter((p) => p.attributes.group === "a").length
const countB = dataset.length - countA

const users = (pairs: ReadonlyArray<PreferencePair>): Set<string> => new Set(pairs.map((p) => p.user_id))

describe("split partition", () => {
  const result = buildSplit(dataset, split, { seed: 1, evalPairs: 40 })

  it("holds out exactly evalPairs per group", () => {
    expect(result.groups.A.eval.length).toBe(40)
    expect(result.groups.B.eval.length).toBe(40)
  })

  it("keeps eval users out of train", () => {
    for (const group of ["A", "B"] as const) {
      const evalUsers = users(result.groups[group].eval)
      for (const user of users(result.groups[group].train)) expect(evalUsers.has(user)).toBe(false)
    }
  })

  it("balances train sizes", () => {
    const trainA = countA - 40 - (result.groups.A.dropped.eval_user_remainder ?? 0)
    const trainB = countB - 40 - (result.groups.B.dropped.eval_user_remainder ?? 0)
    expect(result.groups.A.train.length).toBe(Math.min(trainA, trainB))
    expect(result.groups.B.train.length).toBe(Math.min(trainA, trainB))
    const capped = trainA > trainB ? "A" : "B"
    expect(result.groups[capped].dropped.balance_cap).toBe(Math.abs(trainA - trainB))
  })

  it("accounts for every pair", () => {
    for (const group of ["A", "B"] as const) {
      const part = result.groups[group]
      const dropped = Object.values(part.dropped).reduce((a, b) => a + b, 0)
      expect(part.train.length + part.eval.length + dropped).toBe(group === "A" ? countA : countB)
      const ids = new Set([...part.train, ...part.eval].map((p) => p.id))
      expect(ids.size).toBe(part.train.length + part.eval.length)
    }
  })

  it("ignores the input order", () => {
    const shuffled = createRng("order").shuffle(dataset)
    const again = buildSplit(shuffled, split, { seed: 1, evalPairs: 40 })
    expect(again.groups.A.eval.map((p) => p.id)).toEqual(result.groups.A.eval.map((p) => p.id))
    expect(again.groups.B.train.map((p) => p.id)).toEqual(result.groups.B.train.map((p) => p.id))
  })

  it("changes with the seed", () => {
    const other = buildSplit(dataset, split, { seed: 2, evalPairs: 40 })
    expect(other.groups.A.eval.map((p) => p.id)).not.toEqual(result.groups.A.eval.map((p) => p.id))
  })

  it("summarises groups", () => {
    const summary = result.summary.groups.A
    expect(summary.eval.pairs).toBe(40)
    expect(summary.all.pairs).toBe(countA)
    expect(summary.all.users).toBe(60)
    expect(Object.values(summary.train.sources).reduce((a, b) => a + b, 0)).toBe(result.groups.A.train.length)
    const gaps = result.groups.A.train.map((p) => p.score_gap as number)
    expect(summary.train.score_gap?.mean).toBeCloseTo(gaps.reduce((a, b) => a + b, 0) / gaps.length, 10)
    expect(summary.train.score_gap_share_above_14).toBeCloseTo(gaps.filter((g) => g > 14).length / gaps.length, 10)
    expect(result.summary.units).toEqual({ A: 60, B: 60, excluded: 0 })
  })

  it("holds out by pair", () => {
    const byPair = buildSplit(dataset, split, { seed: 1, evalPairs: 40, holdout: "pair", balance: false })
    expect(byPair.groups.A.eval.length).toBe(40)
    expect(byPair.groups.A.train.length).toBe(countA - 40)
    expect(byPair.groups.A.dropped).toEqual({})
  })

  it("caps train to train.size", () => {
    const sized = buildSplit(dataset, split, { seed: 1, evalPairs: 40, trainSize: 50 })
    expect(sized.groups.A.train.length).toBe(50)
    expect(sized.groups.B.train.length).toBe(50)
    expect(sized.groups.A.eval.map((p) => p.id)).toEqual(result.groups.A.eval.map((p) => p.id))
  })

  it("filters source models", () => {
    const filtered = buildSplit(dataset, split, { seed: 1, evalPairs: 20, sources: ["model-x"] })
    const all = [...filtered.groups.A.train, ...filtered.groups.A.eval, ...filtered.groups.B.train, ...filtered.groups.B.eval]
    expect(all.every((p) => p.source === "model-x")).toBe(true)
    expect(filtered.summary.source_filter_dropped).toBe(dataset.filter((p) => p.source !== "model-x").length)
  })
})

describe("partition errors", () => {
  it("rejects too few pairs for eval", () => {
    const error = errorOf(() => buildSplit(dataset, split, { seed: 1, evalPairs: countA }))
    expect(error.message).toContain(`split G: group A (A) has ${countA} pairs from 60 users, but eval.pairs is ${countA}`)
    expect(error.message).toContain("Lower eval.pairs")
  })

  it("rejects a train.size above what remains", () => {
    const error = errorOf(() => buildSplit(dataset, split, { seed: 1, evalPairs: 40, trainSize: 10_000 }))
    expect(error.message).toContain('field "train.size": split G: group A (A) has')
    expect(error.message).toContain("fewer than train.size 10000")
  })

  it("rejects an unknown source model", () => {
    const error = errorOf(() => buildSplit(dataset, split, { seed: 1, sources: ["model-z"] }))
    expect(error.message).toContain('no pair comes from the source model "model-z"; sources present: model-x, model-y')
  })

  it("rejects bad params", () => {
    expect(errorOf(() => partitionOptionsFromParams({})).message).toContain('field "data.seed": missing param')
    expect(errorOf(() => partitionOptionsFromParams({ "data.seed": 1, "eval.pairs": 0 })).message).toContain('field "eval.pairs": expected a positive integer')
    expect(errorOf(() => partitionOptionsFromParams({ "data.seed": 1, "train.size": "most" })).message).toContain('field "train.size"')
    expect(errorOf(() => partitionOptionsFromParams({ "data.seed": 1, "data.holdout": "group" })).message).toContain('field "data.holdout"')
    expect(errorOf(() => partitionOptionsFromParams({ "data.seed": 1, "train.balance": "yes" })).message).toContain('field "train.balance"')
  })

  it("reads params", () => {
    expect(
      partitionOptionsFromParams({ "data.seed": 5, "eval.pairs": 64, "train.size": "all", "train.balance": false, "data.sources": null }),
    ).toEqual({ seed: 5, evalPairs: 64, trainSize: "all", balance: false, sources: null })
  })
})

describe("pool and outputs", () => {
  it("draws the pooled eval set across users", () => {
    const pool = buildPool(dataset, { seed: 3, evalPairs: 64, trainSize: 100 })
    expect(pool.eval.length).toBe(64)
    expect(pool.train.length).toBe(100)
    const evalUsers = users(pool.eval)
    expect([...users(pool.train)].some((u) => evalUsers.has(u))).toBe(false)
    expect(users(pool.eval).size).toBeGreaterThan(8)
  })

  it("writes byte-identical files", () => {
    const first = mkdtempSync(join(tmpdir(), "pipe-split-"))
    const second = mkdtempSync(join(tmpdir(), "pipe-split-"))
    writeSplitOutputs(first, buildSplit(dataset, split, { seed: 9, evalPairs: 30 }))
    writeSplitOutputs(second, buildSplit(createRng("x").shuffle(dataset), split, { seed: 9, evalPairs: 30 }))
    for (const name of SPLIT_OUTPUT_FILES) {
      expect(readFileSync(join(first, name)).equals(readFileSync(join(second, name)))).toBe(true)
    }
    const evalA = loadPairsFile(join(first, "A.eval.jsonl")).pairs
    expect(evalA.length).toBe(30)
    const summary = JSON.parse(readFileSync(join(first, "summary.json"), "utf8"))
    expect(summary.groups.A.eval.pairs).toBe(30)
  })

  it("computes population statistics", () => {
    expect(numberStats([1, 2, 3, 4])).toEqual({ n: 4, mean: 2.5, std: Math.sqrt(1.25), min: 1, p25: 1.75, median: 2.5, p75: 3.25, max: 4 })
    expect(numberStats([])).toBeNull()
  })
})
