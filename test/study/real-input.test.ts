/**
 * The study pipeline on real input that no one here wrote: HH-RLHF
 * transcripts and the stories260K llama2.c checkpoint as the reference
 * policy, through the `hh-rlhf` profile, cut down to one split, one seed and
 * a few steps.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { sharedPath } from "../shared.js"
import { makeStudyProject } from "./project.js"

describe("hh-rlhf profile", () => {
  it("runs on real transcripts with the stories260K checkpoint", async () => {
    const data = sharedPath("data/hh-rlhf-harmless-base-test/test.jsonl.gz")
    const model = sharedPath("data/tinyllamas-stories260K/stories260K.bin")
    const project = makeStudyProject((doc) => {
      const splits = doc.profiles["hh-rlhf"]["data.splits"] as Record<string, unknown>
      doc.profiles["hh-rlhf"]["data.splits"] = { H1_turns: splits["H1_turns"] }
      doc.profiles["hh-rlhf"]["seeds"] = [42]
      doc.profiles["hh-rlhf"]["methods"] = ["wpo"]
      doc.profiles["hh-rlhf"]["train.steps"] = 2
      doc.profiles["hh-rlhf"]["train.size"] = 16
      doc.profiles["hh-rlhf"]["eval.pairs"] = 16
      doc.profiles["hh-rlhf"]["weights.max_pairs"] = 16
    })
    const result = await project.pipe(
      "run",
      "compare",
      "--profile",
      "hh-rlhf",
      "--set",
      `data.path=${data}`,
      "--set",
      `model.path=${model}`,
    )
    expect(result.code, result.stdout + result.stderr).toBe(0)

    const dataset = JSON.parse(readFileSync(join(project.dir, "out", "compare", "report.json"), "utf8")) as {
      splits: Array<{ split: string; expected: string; methods: Array<{ verdict: string | null }> }>
    }
    expect(dataset.splits.map((s) => [s.split, s.expected])).toEqual([["H1_turns", "explor."]])
    expect(dataset.splits[0]!.methods[0]!.verdict).toBeNull()

    const reference = await project.pipe("log", "reference")
    expect(reference.code).toBe(0)
    const markdown = readFileSync(join(project.dir, "out", "compare", "report.md"), "utf8")
    expect(markdown).toContain("| H1_turns | explor. |")
  })
})
