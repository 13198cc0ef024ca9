import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import {
  DEMO_DATA_SEED,
  DEMO_EFFECTS,
  DEMO_REFERENCE_SOURCES,
  DEMO_SOURCES,
  demoMarkerShare,
  generateDemo,
  loadDemo,
  writeDemo,
} from "../../src/data/demo.ts"
import { buildSplit } from "../../src/data/partition.ts"
import { loadPrismDir } from "../../src/data/prism.ts"
import { assignGroups, parseSplits } from "../../src/data/splits.ts"
import { STUDY_SPLITS } from "../../src/data/study-splits.ts"

const demo = loadDemo()
const splits = parseSplits(STUDY_SPLITS)
const share = (pairs: ReadonlyArray<{ chosen: string }>): number => demoMarkerShare(pairs)!

describe("demo generator", () => {
  it("is deterministic by seed", () => {
    const first = generateDemo()
    const second = generateDemo()
    expect(second.survey).toBe(first.survey)
    expect(second.conversations).toBe(first.conversations)
    expect(second.utterances).toBe(first.utterances)
    expect(generateDemo({ seed: 8 }).conversations).not.toBe(first.conversations)
  })

  it("has a few hundred users and a few thousand pairs", () => {
    expect(demo.counts.survey_users).toBe(16 * 30 + 7)
    expect(demo.counts.users_with_pairs).toBeGreaterThan(450)
    expect(demo.pairs.length).toBeGreaterThan(2000)
    expect(demo.pairs.length).toBeLessThan(3500)
  })

  it("exercises the loader's quirks", () => {
    expect(demo.dropped.tie).toBeGreaterThan(0)
    expect(demo.dropped.empty_response).toBeGreaterThan(0)
    expect(demo.counts.survey_users_without_pairs).toBeGreaterThanOrEqual(2)
    expect(demo.counts.interactions_turn0).toBe(demo.counts.conversations)
  })

  it("keeps texts short", () => {
    for (const pair of demo.pairs) {
      expect(Buffer.byteLength(pair.prompt)).toBeLessThanOrEqual(32)
      expect(Buffer.byteLength(pair.chosen)).toBeLessThanOrEqual(40)
      expect(Buffer.byteLength(pair.rejected)).toBeLessThanOrEqual(40)
    }
  })

  it("mixes on- and off-policy sources", () => {
    const counts = new Map<string, number>()
    for (const pair of demo.pairs) counts.set(pair.source, (counts.get(pair.source) ?? 0) + 1)
    expect([...counts.keys()].sort()).toEqual([...DEMO_SOURCES].sort())
    const onPolicy = demo.pairs.filter((p) => DEMO_REFERENCE_SOURCES.includes(p.source as never)).length
    expect(onPolicy / demo.pairs.length).toBeGreaterThan(0.6)
    expect(onPolicy / demo.pairs.length).toBeLessThan(0.8)
  })

  it("writes files the PRISM loader reads", () => {
    const dir = mkdtempSync(join(tmpdir(), "pipe-demo-"))
    const manifest = writeDemo(dir)
    expect(manifest.users.length).toBe(demo.counts.survey_users)
    expect(JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).marker).toBe("Yes! ")
    const fromFiles = loadPrismDir(dir)
    expect(fromFiles.pairs).toEqual(demo.pairs)
    expect(fromFiles.dropped).toEqual(demo.dropped)
    const fromUtterances = loadPrismDir(dir, { from: "utterances" })
    expect(fromUtterances.pairs).toEqual(demo.pairs)
  })
})

describe("demo planted effects", () => {
  const planted: Record<string, number> = {
    S1_age: DEMO_EFFECTS.young,
    S2_personalisation: DEMO_EFFECTS.personalisation_high,
    S3_safety: DEMO_EFFECTS.safety_high,
    S4_familiarity: DEMO_EFFECTS.very_familiar,
    S5_behavioral: DEMO_EFFECTS.large_gaps,
    S6_region: DEMO_EFFECTS.region_europe,
  }

  for (const split of splits) {
    it(`recovers ${split.name} over all pairs`, () => {
      const { groups } = assignGroups(demo.pairs, split)
      expect(share(groups.A) - share(groups.B)).toBeCloseTo(planted[split.name], 1)
    })
  }

  it("shows the directions in the default eval sets", () => {
    const diff = (name: string): number => {
      const result = buildSplit(demo.pairs, splits.find((s) => s.name === name)!, { seed: DEMO_DATA_SEED })
      return share(result.groups.A.eval) - share(result.groups.B.eval)
    }
    expect(diff("S1_age")).toBeGreaterThan(0.1)
    expect(diff("S2_personalisation")).toBeGreaterThan(0.1)
    expect(diff("S3_safety")).toBeLessThan(-0.1)
    expect(Math.abs(diff("S6_region"))).toBeLessThanOrEqual(0.02)
  })

  it("makes group A follow the rule more than B", () => {
    const { groups } = assignGroups(demo.pairs, splits[0])
    expect(share(groups.A)).toBeGreaterThan(0.78)
    expect(share(groups.B)).toBeLessThan(0.7)
  })
})
