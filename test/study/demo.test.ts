/**
 * A cut-down demo (one split, one seed, few steps) through the real
 * pipeline must still recover the demo data's strongest planted effect:
 * young users (S1_age group A) follow the preference rule more consistently,
 * so pref_acc(A) > pref_acc(B) and the verdict is MATCH.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { keepSplits, makeStudyProject } from "./project.js"

interface ReportJson {
  readonly splits: ReadonlyArray<{
    readonly split: string
    readonly methods: ReadonlyArray<{ readonly method: string; readonly verdict: string; readonly mean_diff: { readonly value: number } }>
  }>
}

describe("cut-down demo", () => {
  it("recovers the planted age effect", async () => {
    const project = makeStudyProject((doc) => {
      keepSplits(doc, ["S1_age"])
      doc.params["seeds"] = [42]
      doc.params["methods"] = ["dpo"]
      doc.params["reference"]["steps"] = 100
      doc.params["train"]["steps"] = 20
      doc.params["weights"]["max_pairs"] = 64
    })
    const result = await project.pipe("run", "compare")
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toContain("out/compare")
    const report = JSON.parse(readFileSync(join(project.dir, "out", "compare", "report.json"), "utf8")) as ReportJson
    const s1 = report.splits.find((s) => s.split === "S1_age")
    expect(s1).toBeDefined()
    const dpo = s1!.methods.find((m) => m.method === "dpo")!
    expect(dpo.verdict).toBe("MATCH")
    // The planted gap in rule consistency is about 15-20 points; a learned policy shows most of it.
    expect(dpo.mean_diff.value).toBeGreaterThan(5)
    const markdown = readFileSync(join(project.dir, "out", "compare", "report.md"), "utf8")
    expect(markdown).toContain("| S1_age | A>B |")
  })
})
