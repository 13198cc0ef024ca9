/**
 * Checks the report of a full demo run (`pipe run compare` on the default
 * profile) against the effects planted in the demo data:
 *
 * - S1_age and S2_personalisation: group A follows the preference rule more
 *   consistently, so A>B and the verdict is MATCH;
 * - S3_safety: high-safety users follow it less consistently, A<B, MATCH;
 * - S4_familiarity and S5_behavioral: exploratory, no verdict;
 * - S6_region: region does not enter the rule, A=B, OK;
 * - the source styles the reference policy never saw (demo-shout,
 *   demo-json) get lower mean WPO weights than the ones it was trained on.
 *
 * Usage: node --import tsx scripts/check-demo.ts [out/compare/report.json]
 * Exits 1 and lists every difference when the report disagrees.
 */
import { readFileSync } from "node:fs"

const EXPECTED_VERDICTS: Record<string, string> = {
  S1_age: "MATCH",
  S2_personalisation: "MATCH",
  S3_safety: "MATCH",
  S4_familiarity: "—",
  S5_behavioral: "—",
  S6_region: "OK",
}
const ON_POLICY = ["demo-plain", "demo-friendly"]
const OFF_POLICY = ["demo-shout", "demo-json"]

interface Report {
  readonly splits: ReadonlyArray<{
    readonly split: string
    readonly methods: ReadonlyArray<{ readonly method: string; readonly verdict: string | null; readonly mean_diff: { readonly text: string } }>
  }>
  readonly weights?: ReadonlyArray<
    { readonly split: string } & Record<
      "A" | "B",
      { readonly by_source?: ReadonlyArray<{ readonly source: string; readonly w_mean: { readonly value: number } }> }
    >
  >
}

const path = process.argv[2] ?? "out/compare/report.json"
let report: Report
try {
  report = JSON.parse(readFileSync(path, "utf8")) as Report
} catch (error) {
  console.error(`cannot read ${path}: ${(error as Error).message}. Run "npx pipe run compare" first.`)
  process.exit(2)
}

const problems: string[] = []
for (const [split, expected] of Object.entries(EXPECTED_VERDICTS)) {
  const row = report.splits.find((s) => s.split === split)
  if (row === undefined) {
    problems.push(`${split}: missing from the report`)
    continue
  }
  for (const method of row.methods) {
    const verdict = method.verdict ?? "—"
    const line = `${split} ${method.method}: verdict ${verdict} (mean diff ${method.mean_diff.text}), expected ${expected}`
    console.log(`${verdict === expected ? "ok  " : "DIFF"} ${line}`)
    if (verdict !== expected) problems.push(line)
  }
}

const sourceMeans = new Map<string, number[]>()
for (const split of report.weights ?? []) {
  for (const group of [split.A, split.B]) {
    for (const s of group.by_source ?? []) sourceMeans.set(s.source, [...(sourceMeans.get(s.source) ?? []), s.w_mean.value])
  }
}
const meanOf = (sources: string[]) => {
  const values = sources.flatMap((s) => sourceMeans.get(s) ?? [])
  return values.length === 0 ? NaN : values.reduce((a, b) => a + b, 0) / values.length
}
const on = meanOf(ON_POLICY)
const off = meanOf(OFF_POLICY)
const weightLine = `mean WPO weight: on-policy styles ${on.toFixed(4)}, off-policy styles ${off.toFixed(4)}`
console.log(`${off < on ? "ok  " : "DIFF"} ${weightLine}`)
if (!(off < on)) problems.push(`${weightLine}; expected off-policy < on-policy`)

if (problems.length > 0) {
  console.error(`\n${problems.length} difference(s) from the planted effects:\n${problems.map((p) => `  ${p}`).join("\n")}`)
  process.exit(1)
}
console.log("\nThe report shows every planted effect.")
