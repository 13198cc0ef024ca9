import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"
import { HH_SPLITS, STUDY_SPLITS } from "../../src/data/study-splits.ts"

const docsPath = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "docs", "data.md")
const yamlBlocks = [...readFileSync(docsPath, "utf8").matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]) as Record<string, unknown>)

describe("docs/data.md split snippets", () => {
  it("match the study splits", () => {
    const block = yamlBlocks.find((b) => "S1_age" in b)
    expect(block).toEqual(STUDY_SPLITS)
  })

  it("match the HH-RLHF splits", () => {
    const block = yamlBlocks.find((b) => "H1_turns" in b)
    expect(block).toEqual(HH_SPLITS)
  })
})
