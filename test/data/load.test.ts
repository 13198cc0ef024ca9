import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, relative } from "node:path"
import { Effect, Exit } from "effect"
import { describe, expect, it } from "vitest"
import { writeDemo } from "../../src/data/demo.ts"
import { buildSplitEffect, loadDataEffect } from "../../src/data/effect.ts"
import { DataError } from "../../src/data/errors.ts"
import { loadDataFromParams } from "../../src/data/load.ts"
import { STUDY_SPLITS } from "../../src/data/study-splits.ts"
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

describe("data params", () => {
  it("loads the demo when data.path is null", () => {
    const data = loadDataFromParams({ "data.path": null }, "/")
    expect(data.kind).toBe("demo")
    expect(data.pairs.length).toBeGreaterThan(2000)
  })

  it("loads a PRISM folder by relative path", () => {
    const dir = mkdtempSync(join(tmpdir(), "pipe-load-"))
    writeDemo(dir, { seed: 3, usersPerCell: 2 })
    const root = dirname(dir)
    const data = loadDataFromParams({ "data.path": relative(root, dir), "data.history": true, "demo.seed": 99 }, root)
    expect(data.kind).toBe("prism")
    expect(data.pairs.some((p) => p.prompt.startsWith("User: "))).toBe(true)
  })

  it("loads an HH-RLHF file", () => {
    const data = loadDataFromParams({ "data.path": sharedPath("data/hh-rlhf-harmless-base-test/test.jsonl.gz") }, "/")
    expect(data.kind).toBe("hh-rlhf")
    expect(data.skipped.length).toBe(data.counts.lines - data.pairs.length)
  })

  it("generates the demo by format", () => {
    const data = loadDataFromParams({ "data.format": "demo", "data.path": "/ignored", "demo.seed": 3, "demo.users_per_cell": 2 }, "/")
    expect(data.kind).toBe("demo")
    expect(data.counts.survey_users).toBe(16 * 2 + 7)
  })

  it("rejects bad params", () => {
    expect(errorOf(() => loadDataFromParams({ "data.format": "prism", "data.path": null }, "/")).message).toContain(
      "data.format is prism, but data.path is not set",
    )
    expect(errorOf(() => loadDataFromParams({ "data.path": null, "data.pairing": "pairs" }, "/")).message).toContain(
      'field "data.pairing": expected within-model | chosen-vs-rest | turn0-all, found "pairs"',
    )
    expect(errorOf(() => loadDataFromParams({ "data.path": "/nonexistent/prism" }, "/")).message).toContain(
      "/nonexistent/prism: data.path does not exist",
    )
    const file = sharedPath("data/hh-rlhf-harmless-base-test/test.jsonl.gz")
    expect(errorOf(() => loadDataFromParams({ "data.path": file, "data.format": "prism" }, "/")).message).toContain(
      "data.format is prism, but data.path is a file",
    )
  })
})

describe("Effect wrappers", () => {
  it("fail with DataError", () => {
    const exit = Effect.runSyncExit(loadDataEffect({ "data.path": "/nonexistent" }, "/"))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isFailure(exit) && exit.cause._tag === "Fail") {
      expect(exit.cause.error).toBeInstanceOf(DataError)
      expect(exit.cause.error._tag).toBe("DataError")
    } else {
      throw new Error("expected a Fail cause")
    }
  })

  it("build a split from params", () => {
    const program = Effect.flatMap(loadDataEffect({ "data.path": null }, "/"), (data) =>
      buildSplitEffect(data.pairs, "S1_age", STUDY_SPLITS.S1_age, { "data.seed": 1, "eval.pairs": 64 }),
    )
    const result = Effect.runSync(program)
    expect(result.groups.A.eval.length).toBe(64)
    expect(result.summary.name).toBe("S1_age")
  })
})
