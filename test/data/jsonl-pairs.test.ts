import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { gunzipSync, gzipSync } from "node:zlib"
import { describe, expect, it } from "vitest"
import { DataError } from "../../src/data/errors.ts"
import { HH_ASSISTANT_MARKER, loadPairsFile, pairsToJsonl, splitHhTranscript } from "../../src/data/jsonl-pairs.ts"
import type { PreferencePair } from "../../src/data/types.ts"
import { sharedPath } from "../shared.ts"

const errorOf = (run: () => unknown): DataError => {
  try {
    run()
  } catch (error) {
    if (error instanceof DataError) return error
    throw error
  }
  throw new Error("expected a DataError, but the call succeeded")
}

const writeTemp = (name: string, content: string | Buffer): string => {
  const path = join(mkdtempSync(join(tmpdir(), "pipe-pairs-")), name)
  writeFileSync(path, content)
  return path
}

describe("HH-RLHF harmless-base test file", () => {
  const path = sharedPath("data/hh-rlhf-harmless-base-test/test.jsonl.gz")
  const result = loadPairsFile(path)
  const rows = gunzipSync(readFileSync(path))
    .toString("utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as { chosen: string; rejected: string })

  it("reads every row", () => {
    expect(result.format).toBe("hh-rlhf")
    expect(result.counts.lines).toBe(2312)
    expect(rows.length).toBe(2312)
    expect(result.pairs.length + result.skipped.length).toBe(2312)
  })

  it("reports rows whose prefixes differ", () => {
    expect(result.skipped.length).toBe(5)
    expect(result.dropped).toEqual({ prompt_prefix_differs: 5 })
    for (const { line, reason } of result.skipped) {
      expect(reason).toContain("differ before their last")
      const row = rows[line - 1]
      const chosenPrefix = row.chosen.slice(0, row.chosen.lastIndexOf(HH_ASSISTANT_MARKER))
      const rejectedPrefix = row.rejected.slice(0, row.rejected.lastIndexOf(HH_ASSISTANT_MARKER))
      expect(chosenPrefix).not.toBe(rejectedPrefix)
    }
  })

  it("splits prompts and responses at the last marker", () => {
    const byLine = new Map(result.pairs.map((p) => [Number(p.id.split(":").pop()), p]))
    expect(byLine.size).toBe(2307)
    for (const [line, pair] of byLine) {
      const row = rows[line - 1]
      expect(pair.prompt.endsWith(HH_ASSISTANT_MARKER)).toBe(true)
      expect(pair.prompt + pair.chosen).toBe(row.chosen)
      expect(pair.prompt + pair.rejected).toBe(row.rejected)
      expect(pair.chosen.includes(HH_ASSISTANT_MARKER)).toBe(false)
      expect(pair.rejected.includes(HH_ASSISTANT_MARKER)).toBe(false)
    }
  })

  it("derives turn attributes", () => {
    const pair = result.pairs[0]
    const humanTurns = pair.prompt.split("\n\nHuman:").length - 1
    expect(pair.attributes.human_turns).toBe(humanTurns)
    expect(pair.turn).toBe(humanTurns - 1)
    expect(pair.attributes.prompt_length).toBe(pair.prompt.length)
    expect(pair.score_gap).toBeNull()
    expect(pair.user_id).toBe(pair.id)
    const turns = new Set(result.pairs.map((p) => p.attributes.human_turns))
    expect(turns.has(1)).toBe(true)
    expect([...turns].some((t) => (t as number) > 1)).toBe(true)
  })
})

describe("HH-RLHF transcript split", () => {
  it("keeps the marker in the prompt", () => {
    const split = splitHhTranscript("\n\nHuman: hi\n\nAssistant: yes", "\n\nHuman: hi\n\nAssistant: no")
    expect(split).toEqual({ prompt: "\n\nHuman: hi\n\nAssistant:", chosen: " yes", rejected: " no" })
  })

  it("reports a missing marker", () => {
    const split = splitHhTranscript("\n\nHuman: hi", "\n\nHuman: hi\n\nAssistant: no")
    expect(split).toEqual({ reason: 'no "\\n\\nAssistant:" marker in chosen' })
  })
})

describe("generic JSONL pairs", () => {
  const pairs: PreferencePair[] = [
    {
      id: "p1",
      prompt: "Q?",
      chosen: "good",
      rejected: "bad",
      user_id: "u1",
      source: "m1",
      score_gap: 12,
      turn: 1,
      attributes: { age: "18-24 years old", stated_prefs: { safety: 70.5 } },
    },
    { id: "p2", prompt: "Q2?", chosen: "yes", rejected: "no", user_id: "u2", source: "m2", rejected_source: "m3", score_gap: null, turn: 0, attributes: {} },
  ]

  it("round-trips written pairs", () => {
    const path = writeTemp("pairs.jsonl", pairsToJsonl(pairs))
    const result = loadPairsFile(path)
    expect(result.format).toBe("pairs")
    expect(result.pairs).toEqual(pairs)
    const gz = writeTemp("pairs.jsonl.gz", gzipSync(pairsToJsonl(pairs)))
    expect(loadPairsFile(gz).pairs).toEqual(pairs)
  })

  it("moves extra fields into attributes", () => {
    const path = writeTemp("flat.jsonl", '{"prompt":"a","chosen":"b","rejected":"c","age":"65+ years old","region":"UK"}\n\n{"prompt":"d","chosen":"e","rejected":"f"}\n')
    const result = loadPairsFile(path)
    expect(result.pairs[0]).toEqual({
      id: "flat.jsonl:1",
      prompt: "a",
      chosen: "b",
      rejected: "c",
      user_id: "flat.jsonl:1",
      source: "unknown",
      score_gap: null,
      turn: 0,
      attributes: { age: "65+ years old", region: "UK" },
    })
    expect(result.pairs[1].id).toBe("flat.jsonl:3")
  })

  it("names the line of a missing field", () => {
    const path = writeTemp("bad.jsonl", '{"prompt":"a","chosen":"b","rejected":"c"}\n{"prompt":"a","chosen":"b"}\n')
    const error = errorOf(() => loadPairsFile(path))
    expect(error.message).toBe(`${path}:2: field "rejected": missing required string field. Add the field or fix its type`)
  })

  it("names the line of a wrong type", () => {
    const path = writeTemp("bad.jsonl", '{"prompt":"a","chosen":"b","rejected":"c","score_gap":"big"}\n')
    expect(errorOf(() => loadPairsFile(path)).message).toContain(':1: field "score_gap": expected a number or null, found "big"')
  })

  it("rejects duplicate ids", () => {
    const path = writeTemp("dup.jsonl", '{"id":"x","prompt":"a","chosen":"b","rejected":"c"}\n{"id":"x","prompt":"a","chosen":"b","rejected":"c"}\n')
    expect(errorOf(() => loadPairsFile(path)).message).toContain(':2: field "id": duplicate pair id "x" (first on line 1)')
  })

  it("rejects a line that is not an object", () => {
    const path = writeTemp("arr.jsonl", '{"prompt":"a","chosen":"b","rejected":"c"}\n[1,2]\n')
    expect(errorOf(() => loadPairsFile(path)).message).toContain(":2: expected a JSON object, found an array")
  })

  it("rejects an empty file", () => {
    const path = writeTemp("empty.jsonl", "\n")
    expect(errorOf(() => loadPairsFile(path)).message).toContain("the file contains no JSON lines")
  })

  it("rejects a missing file", () => {
    expect(errorOf(() => loadPairsFile("/nonexistent/pairs.jsonl")).message).toContain("cannot read the file (ENOENT)")
  })
})
