import { describe, expect, it } from "vitest"
import { formatSpecError, SpecError, UsageError } from "../../src/engine/errors.js"
import { buildPlan } from "../../src/engine/plan.js"
import { parseSpecText } from "../../src/engine/spec.js"

/** Parses and expands a spec, returning the formatted error text (or "ok"). */
const errorOf = (text: string, options: { profile?: string; sets?: Array<string> } = {}): string => {
  try {
    buildPlan(parseSpecText(text, "/project/pipeline.yaml", "pipeline.yaml", options))
    return "ok"
  } catch (error) {
    if (error instanceof SpecError) return formatSpecError(error)
    if (error instanceof UsageError) return `usage: ${error.message}`
    throw error
  }
}

const base = `params:
  seeds: [42, 456]
  train: { steps: 5, beta: 0.1 }
stages:
  split:
    module: stages/split.ts
    outputs: [data.txt]
  train:
    module: stages/train.ts
    matrix:
      seed: \${seeds}
    needs: { data: split }
    params: [train.steps]
    outputs: [model.txt]
`

describe("spec error texts", () => {
  it("accepts the base spec", () => {
    expect(errorOf(base)).toBe("ok")
  })

  it("reports an unknown stage field with a suggestion", () => {
    expect(errorOf(base.replace("    outputs: [data.txt]", "    outptus: [data.txt]"))).toBe(
      [
        'pipeline.yaml:7:5: error: unknown field "outptus" in stage "split"; did you mean "outputs"?',
        " 7 |     outptus: [data.txt]",
        "   |     ^",
        "  expected: one of module, description, matrix, needs, params, deps, outputs, resources",
      ].join("\n"),
    )
  })

  it("reports a missing required field", () => {
    expect(errorOf(base.replace("    module: stages/split.ts\n", ""))).toBe(
      [
        'pipeline.yaml:5:3: error: stage "split" is missing the required field "module"',
        " 5 |   split:",
        "   |   ^",
        "  expected: a string: the stage module path, e.g. stages/train.ts",
      ].join("\n"),
    )
  })

  it("reports a value of the wrong type", () => {
    expect(errorOf(base.replace("params: [train.steps]", "params: train.steps"))).toBe(
      [
        'pipeline.yaml:13:13: error: invalid value for "params" in stage "train"',
        " 13 |     params: train.steps",
        "    |             ^",
        "  expected: a list of dotted param paths, e.g. [train.steps, train.beta]",
      ].join("\n"),
    )
  })

  it("reports an unknown upstream stage with a suggestion", () => {
    expect(errorOf(base.replace("needs: { data: split }", "needs: { data: splt }"))).toBe(
      [
        'pipeline.yaml:12:20: error: stage "train" needs unknown stage "splt"; did you mean "split"?',
        " 12 |     needs: { data: splt }",
        "    |                    ^",
        "  expected: one of the stages: split, train",
      ].join("\n"),
    )
  })

  it("reports an unknown param with a suggestion", () => {
    expect(errorOf(base.replace("params: [train.steps]", "params: [train.stpes]"))).toBe(
      [
        'pipeline.yaml:13:14: error: stage "train" reads unknown param "train.stpes"; did you mean "train.steps"?',
        " 13 |     params: [train.stpes]",
        "    |              ^",
        "  expected: a param path defined under params:",
      ].join("\n"),
    )
  })

  it("names every stage of a dependency cycle", () => {
    const cyclic = base
      .replace("  split:\n    module: stages/split.ts\n", "  split:\n    module: stages/split.ts\n    needs: { back: report }\n")
      .concat("  report:\n    module: stages/report.ts\n    needs: { models: train }\n    outputs: [r.md]\n")
    expect(errorOf(cyclic)).toBe(
      [
        "pipeline.yaml:7:20: error: dependency cycle between stages: split -> report -> train -> split",
        " 7 |     needs: { back: report }",
        "   |                    ^",
        "  expected: needs: that form no cycle; remove one of these references",
      ].join("\n"),
    )
  })

  it("reports an unquoted reference inside a flow mapping", () => {
    expect(errorOf(base.replace("matrix:\n      seed: ${seeds}", "matrix: { seed: ${seeds} }"))).toBe(
      [
        "pipeline.yaml:10:22: error: invalid YAML (UNEXPECTED_TOKEN): Unexpected flow-map-start at node end",
        " 10 |     matrix: { seed: ${seeds} }",
        "    |                      ^",
        '  expected: valid YAML; a ${...} reference inside { } or [ ] must be quoted, e.g. { split: "${splits}" }',
      ].join("\n"),
    )
  })

  it("reports a matrix reference to an unknown param", () => {
    expect(errorOf(base.replace("seed: ${seeds}", "seed: ${seed}"))).toBe(
      [
        'pipeline.yaml:11:13: error: matrix axis "seed" of stage "train" references unknown param "seed"; did you mean "seeds"?',
        " 11 |       seed: ${seed}",
        "    |             ^",
        "  expected: a param path defined under params:",
      ].join("\n"),
    )
  })

  it("reports a binding to an axis the upstream stage lacks", () => {
    expect(errorOf(base.replace("needs: { data: split }", 'needs: { data: "split@{seed}" }'))).toBe(
      [
        'pipeline.yaml:12:20: error: binding {seed} in "split@{seed}": stage "split" has no matrix axis "seed"',
        ' 12 |     needs: { data: "split@{seed}" }',
        "    |                    ^",
        '  expected: an axis of stage "split": (it has no matrix)',
      ].join("\n"),
    )
  })

  it("reports an explicit binding value that does not exist", () => {
    const spec = base.concat('  eval:\n    module: stages/eval.ts\n    needs: { model: "train@{seed=45}" }\n    outputs: [e.json]\n')
    expect(errorOf(spec)).toBe(
      [
        'pipeline.yaml:17:21: error: binding {seed=45} in "train@{seed=45}": "45" is not a value of axis "seed" of stage "train"; did you mean "42"?',
        ' 17 |     needs: { model: "train@{seed=45}" }',
        "    |                     ^",
        "  expected: one of: 42, 456",
      ].join("\n"),
    )
  })

  it("rejects two instances that materialise to one folder", () => {
    const spec = base.replace("seeds: [42, 456]", 'seeds: ["a/b", "a_b"]')
    expect(errorOf(spec)).toBe(
      [
        "pipeline.yaml:11:7: error: instances train[seed=a/b] and train[seed=a_b] would both materialise to out/train/seed=a_b",
        " 11 |       seed: ${seeds}",
        "    |       ^",
        "  expected: matrix values that stay distinct after characters other than letters, digits and ._+=- are replaced by _",
      ].join("\n"),
    )
  })

  it("reports a duplicate matrix value", () => {
    expect(errorOf(base.replace("seeds: [42, 456]", "seeds: [42, 42]"))).toBe(
      [
        'pipeline.yaml:11:13: error: matrix axis "seed" of stage "train" lists the value 42 twice',
        " 11 |       seed: ${seeds}",
        "    |             ^",
        "  expected: distinct values on each axis",
      ].join("\n"),
    )
  })

  it("reports a profile that overrides an unknown param", () => {
    const spec = base.concat("profiles:\n  quick: { train.step: 1 }\n")
    expect(errorOf(spec, { profile: "quick" })).toBe(
      [
        'pipeline.yaml:16:12: error: profile "quick" overrides unknown param "train.step"; did you mean "train.steps"?',
        " 16 |   quick: { train.step: 1 }",
        "    |            ^",
        "  expected: a param path defined under params:",
      ].join("\n"),
    )
  })

  it("reports a duplicate key", () => {
    expect(errorOf(base.replace("    outputs: [data.txt]", "    outputs: [data.txt]\n    outputs: [x.txt]"))).toBe(
      [
        "pipeline.yaml:8:5: error: duplicate key in mapping",
        " 8 |     outputs: [x.txt]",
        "   |     ^",
        "  expected: each key to appear once in its mapping",
      ].join("\n"),
    )
  })

  it("reports an unknown --set param and an unknown profile", () => {
    expect(errorOf(base, { sets: ["train.betta=0.2"] })).toBe('usage: --set train.betta=0.2: unknown param "train.betta"; did you mean "train.beta"?')
    expect(errorOf(base, { profile: "fast" })).toBe('usage: unknown profile "fast"; defined profiles: (none)')
  })
})
