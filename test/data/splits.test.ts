import { describe, expect, it } from "vitest"
import { DataError } from "../../src/data/errors.ts"
import { assignGroups, parseSplit, parseSplits } from "../../src/data/splits.ts"
import { HH_SPLITS, STUDY_SPLITS } from "../../src/data/study-splits.ts"
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

/** `perUser` pairs for each user, all carrying that user's attributes. */
const makePairs = (users: Array<{ id: string; attributes: Record<string, unknown>; gaps?: number[] }>, perUser = 2): PreferencePair[] =>
  users.flatMap((u) =>
    Array.from({ length: u.gaps?.length ?? perUser }, (_, i) => ({
      id: `${u.id}-${i}`,
      prompt: "p",
      chosen: "c",
      rejected: "r",
      user_id: u.id,
      source: "m",
      score_gap: u.gaps?.[i] ?? 10,
      turn: 1,
      attributes: u.attributes,
    })),
  )

describe("split definitions", () => {
  it("parses the six study splits", () => {
    const splits = parseSplits(STUDY_SPLITS)
    expect(splits.map((s) => s.name)).toEqual([
      "S1_age",
      "S2_personalisation",
      "S3_safety",
      "S4_familiarity",
      "S5_behavioral",
      "S6_region",
    ])
    expect(splits.map((s) => s.expected)).toEqual(["A>B", "A>B", "A<B", "explor.", "explor.", "A=B"])
    expect(splits[1]).toMatchObject({ attribute: "stated_prefs.personalisation", A: { gt: "median" }, B: { lte: "median" }, unit: "user", others: "drop" })
    expect(splits[4].statistic).toEqual({ of: "score_gap", kind: "share_above", threshold: 14 })
  })

  it("parses the HH-RLHF splits", () => {
    const splits = parseSplits(HH_SPLITS)
    expect(splits.map((s) => [s.name, s.unit, s.expected])).toEqual([
      ["H1_turns", "pair", "explor."],
      ["H2_prompt_length", "pair", "explor."],
    ])
  })

  const base = { attribute: "age", A: { in: ["a"] }, B: { in: ["b"] }, expected: "A>B" }
  const cases: Array<[string, unknown, string]> = [
    ["unknown key", { ...base, atribute: "x" }, 'split S: field "atribute": unknown key'],
    ["bad direction", { ...base, expected: "A>>B" }, 'field "expected": unknown direction "A>>B"'],
    ["missing direction", { ...base, expected: undefined }, 'field "expected": missing expected direction'],
    ["both sources", { ...base, statistic: { of: "score_gap", kind: "mean" } }, "give exactly one of `attribute` and `statistic`"],
    ["neither source", { ...base, attribute: undefined }, "give exactly one of `attribute` and `statistic`"],
    ["overlap", { ...base, B: { in: ["a", "b"] } }, 'field "B.in": values ["a"] are in both groups'],
    ["empty set", { ...base, A: { in: [] } }, 'field "A.in": expected a non-empty list of values'],
    ["mixed kinds", { ...base, B: { gt: 3 } }, "one group uses a value set and the other bounds"],
    ["two lower bounds", { ...base, A: { gt: 1, gte: 2 }, B: { lt: 1 } }, "both gt and gte are given"],
    ["bad bound", { ...base, A: { gt: "mean" }, B: { lte: "median" } }, 'field "A.gt": expected a number or "median", found "mean"'],
    ["missing rule", { ...base, B: undefined }, 'field "B": missing group rule'],
    ["bad unit", { ...base, unit: "group" }, 'field "unit": unknown unit "group"'],
    ["stat per pair", { expected: "explor.", unit: "pair", statistic: { of: "score_gap", kind: "mean" }, A: { gt: 1 }, B: { lte: 1 } }, "a per-user statistic needs unit: user"],
    ["stat no threshold", { expected: "explor.", statistic: { of: "score_gap", kind: "share_above" }, A: { gt: 1 }, B: { lte: 1 } }, "share_above needs a numeric threshold"],
    ["stat bad field", { expected: "explor.", statistic: { of: "gap", kind: "mean" }, A: { gt: 1 }, B: { lte: 1 } }, 'field "statistic.of": unknown field "gap"'],
  ]
  for (const [name, raw, message] of cases) {
    it(`rejects ${name}`, () => {
      expect(errorOf(() => parseSplit("S", raw)).message).toContain(message)
    })
  }

  it("rejects an empty mapping", () => {
    expect(errorOf(() => parseSplits({})).message).toContain("no split is defined")
  })
})

describe("group assignment", () => {
  it("sends median ties to the inclusive group", () => {
    const pairs = makePairs(
      [10, 20, 30, 30, 40].map((v, i) => ({ id: `u${i}`, attributes: { stated_prefs: { personalisation: v } } })),
    )
    const split = parseSplit("S2", STUDY_SPLITS.S2_personalisation)
    const result = assignGroups(pairs, split)
    expect(result.median).toBe(30)
    expect(new Set(result.groups.A.map((p) => p.user_id))).toEqual(new Set(["u4"]))
    expect(new Set(result.groups.B.map((p) => p.user_id))).toEqual(new Set(["u0", "u1", "u2", "u3"]))
    expect(result.units).toEqual({ A: 1, B: 4, excluded: 0 })
  })

  it("excludes median ties when no rule includes them", () => {
    const pairs = makePairs([10, 30, 30, 50].map((v, i) => ({ id: `u${i}`, attributes: { x: v } })))
    const result = assignGroups(pairs, parseSplit("S", { attribute: "x", A: { gt: "median" }, B: { lt: "median" }, expected: "explor." }))
    expect(result.median).toBe(30)
    expect(result.excluded).toEqual({ median_tie: 2 })
    expect(result.excludedPairs).toBe(4)
  })

  it("averages the middle values for an even count", () => {
    const pairs = makePairs([10, 20, 60, 70.5].map((v, i) => ({ id: `u${i}`, attributes: { x: v } })))
    const result = assignGroups(pairs, parseSplit("S", { attribute: "x", A: { gt: "median" }, B: { lte: "median" }, expected: "explor." }))
    expect(result.median).toBe(40)
    expect(result.units).toEqual({ A: 2, B: 2, excluded: 0 })
  })

  it("counts missing and other values", () => {
    const ages = ["18-24 years old", "65+ years old", "Prefer not to say", null, "25-34 years old"]
    const pairs = makePairs(ages.map((age, i) => ({ id: `u${i}`, attributes: age === null ? {} : { age } })))
    const split = parseSplit("S1", { ...STUDY_SPLITS.S1_age, B: { in: ["65+ years old"] } })
    const result = assignGroups(pairs, split)
    expect(result.units).toEqual({ A: 2, B: 1, excluded: 2 })
    expect(result.excluded).toEqual({ in_neither_group: 1, missing_value: 1 })
    expect(result.excludedValues).toEqual({ '"Prefer not to say"': 1 })
  })

  it("rejects a rule value absent from the data", () => {
    const pairs = makePairs([{ id: "u0", attributes: { age: "18-24 years old" } }, { id: "u1", attributes: { age: "65+ years old" } }])
    const split = parseSplit("S1", { attribute: "age", A: { in: ["18-24"] }, B: { in: ["65+ years old"] }, expected: "A>B" })
    const error = errorOf(() => assignGroups(pairs, split))
    expect(error.message).toContain('split S1: field "A.in": the value "18-24" of age occurs in no user; values present: "18-24 years old", "65+ years old"')
  })

  it("suggests the closest attribute path", () => {
    const pairs = makePairs([{ id: "u0", attributes: { stated_prefs: { personalisation: 3, safety: 4 } } }])
    const split = parseSplit("S2", { ...STUDY_SPLITS.S2_personalisation, attribute: "stated_prefs.personalization" })
    expect(errorOf(() => assignGroups(pairs, split)).message).toContain(
      'no pair has the attribute "stated_prefs.personalization". Did you mean stated_prefs.personalisation',
    )
  })

  it("rejects non-numeric values under bounds", () => {
    const pairs = makePairs([{ id: "u0", attributes: { x: 3 } }, { id: "u1", attributes: { x: "high" } }])
    const split = parseSplit("S", { attribute: "x", A: { gt: 2 }, B: { lte: 2 }, expected: "explor." })
    expect(errorOf(() => assignGroups(pairs, split)).message).toContain('user u1 has the non-numeric value "high"')
  })

  it("rejects an empty group", () => {
    const pairs = makePairs([{ id: "u0", attributes: { age: "18-24 years old" } }, { id: "u1", attributes: { age: "Prefer not to say" } }])
    const split = parseSplit("S1", { attribute: "age", A: { in: ["18-24 years old"] }, B: { in: ["Prefer not to say", "65+ years old"] }, expected: "A>B" })
    // "65+ years old" occurs in no user, so the value check fires before the empty-group check.
    expect(errorOf(() => assignGroups(pairs, split)).message).toContain('"65+ years old" of age occurs in no user')
    const bounds = parseSplit("S", { attribute: "stated_prefs.safety", A: { gt: 100 }, B: { lte: 100 }, expected: "A<B" })
    const safety = makePairs([{ id: "u0", attributes: { stated_prefs: { safety: 50 } } }])
    expect(errorOf(() => assignGroups(safety, bounds)).message).toContain("split S: group A (A) is empty: A has 0 users, B has 1")
  })

  it("fails on others: error", () => {
    const pairs = makePairs(["UK", "US", "Asia"].map((r, i) => ({ id: `u${i}`, attributes: { location: { special_region: r } } })))
    const split = parseSplit("S6", { ...STUDY_SPLITS.S6_region, A: { in: ["UK"] }, B: { in: ["US"] }, others: "error" })
    expect(errorOf(() => assignGroups(pairs, split)).message).toContain('user u2 has location.special_region = "Asia", which is in neither group')
  })

  it("rejects a user whose attribute varies", () => {
    const pairs = [...makePairs([{ id: "u0", attributes: { x: 1 } }]), ...makePairs([{ id: "u0", attributes: { x: 2 } }]).map((p) => ({ ...p, id: `${p.id}b` }))]
    const split = parseSplit("S", { attribute: "x", A: { gt: 1 }, B: { lte: 1 }, expected: "explor." })
    expect(errorOf(() => assignGroups(pairs, split)).message).toContain("user u0 has x = 1 in pair u0-0 but 2 in pair u0-0b")
  })

  it("splits pairs by a pair-level attribute", () => {
    const pairs = makePairs([{ id: "u0", attributes: {} }], 4).map((p, i) => ({ ...p, attributes: { human_turns: i + 1 } }))
    const result = assignGroups(pairs, parseSplit("H1", HH_SPLITS.H1_turns))
    expect(result.units).toEqual({ A: 1, B: 3, excluded: 0 })
  })

  it("computes the per-user share of large gaps", () => {
    const users = [
      { id: "u0", attributes: {}, gaps: [1, 2, 30] },
      { id: "u1", attributes: {}, gaps: [20, 30, 40, 5] },
      { id: "u2", attributes: {}, gaps: [15, 14] },
    ]
    const result = assignGroups(makePairs(users), parseSplit("S5", STUDY_SPLITS.S5_behavioral))
    // Shares: u0 1/3, u1 3/4, u2 1/2; the median 1/2 goes to B.
    expect(result.median).toBe(0.5)
    expect(new Set(result.groups.A.map((p) => p.user_id))).toEqual(new Set(["u1"]))
    expect(new Set(result.groups.B.map((p) => p.user_id))).toEqual(new Set(["u0", "u2"]))
  })
})
