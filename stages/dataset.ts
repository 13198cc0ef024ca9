/**
 * Stage `dataset`: load the preference pairs once, in any supported format,
 * and write them as one normalised pair file for the split, reference and
 * baseline stages.
 *
 * `data.format` is one of: `auto`, which picks the demo without a
 * `data.path`, PRISM for a folder and JSONL (HH-RLHF detected by its fields)
 * for a file; `demo`, the embedded generated dataset (`data.path` unused);
 * `prism`, a folder with survey.jsonl and conversations.jsonl or
 * utterances.jsonl; `pairs`, JSONL `{prompt, chosen, rejected, ...}`; or
 * `hh-rlhf`, Anthropic transcripts. JSONL files may be plain or gzip.
 */
import { Effect } from "effect"
import { existsSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import {
  loadDemo,
  loadPairsFile,
  loadPrismDir,
  pairsToJsonl,
  summarisePairs,
  type PreferencePair,
  type PrismPairing,
} from "../src/data/index.js"
import { defineStage } from "../src/engine/stage.js"
import { attempt, writeJson } from "./lib/effect.js"

const FORMATS = ["demo", "prism", "pairs", "hh-rlhf"] as const
type DataFormat = (typeof FORMATS)[number]

/** Resolves `auto`: no path is the demo, a folder is PRISM, a file is JSONL pairs (HH-RLHF detected by its fields). */
const resolveFormat = (format: unknown, path: unknown): DataFormat | "auto-file" => {
  if (format !== "auto") return format as DataFormat
  if (path === null || path === undefined || path === "") return "demo"
  if (typeof path === "string" && existsSync(path) && statSync(path).isDirectory()) return "prism"
  return "auto-file"
}

interface Loaded {
  readonly pairs: PreferencePair[]
  readonly counts: Record<string, number>
  readonly dropped: Record<string, number>
  readonly details: Record<string, unknown>
}

const requirePath = (path: unknown, format: string): string => {
  if (typeof path !== "string" || path === "") {
    throw new Error(`data.format is ${format} but data.path is not set; pass it with --set data.path=PATH`)
  }
  try {
    statSync(path)
  } catch {
    throw new Error(`data.path ${path} was not found; pass an existing file or folder with --set data.path=PATH`)
  }
  return path
}

const load = (params: Readonly<Record<string, unknown>>): Loaded => {
  const format = resolveFormat(params["data.format"], params["data.path"])
  if (format !== "auto-file" && !FORMATS.includes(format)) {
    throw new Error(`data.format must be one of auto, ${FORMATS.join(", ")}, got ${JSON.stringify(params["data.format"])}; fix it in pipeline.yaml or with --set data.format=...`)
  }
  const prismOptions = {
    pairing: (params["data.pairing"] ?? "within-model") as PrismPairing,
    history: params["data.history"] === true,
  }
  switch (format) {
    case "demo": {
      const result = loadDemo(
        { seed: params["demo.seed"] as number, usersPerCell: params["demo.users_per_cell"] as number },
        prismOptions,
      )
      return { pairs: result.pairs, counts: result.counts, dropped: result.dropped, details: { demo: result.manifest } }
    }
    case "prism": {
      const result = loadPrismDir(requirePath(params["data.path"], format), prismOptions)
      return { pairs: result.pairs, counts: result.counts, dropped: result.dropped, details: { origin: result.origin } }
    }
    case "auto-file":
    case "pairs":
    case "hh-rlhf": {
      const result = loadPairsFile(requirePath(params["data.path"], "pairs"), format === "auto-file" ? "auto" : format)
      return {
        pairs: result.pairs,
        counts: result.counts,
        dropped: result.dropped,
        details: { skipped_lines: result.skipped },
      }
    }
  }
}

export default defineStage({
  run: (ctx) =>
    Effect.gen(function* () {
      const loaded = yield* attempt(() => load(ctx.params))
      if (loaded.pairs.length === 0) {
        return yield* attempt(() => {
          const source = ctx.params["data.path"] ?? "the generated demo data"
          const survey =
            (loaded.dropped["user_not_in_survey"] ?? 0) > 0
              ? "; pairs were left out because their users are missing from survey.jsonl, so check that the survey file is complete"
              : ""
          throw new Error(
            `${String(source)} (data.format ${String(ctx.params["data.format"])}) gave no usable pairs; ` +
              `left out by reason: ${JSON.stringify(loaded.dropped)}${survey}`,
          )
        })
      }
      yield* attempt(() => {
        writeFileSync(join(ctx.outDir, "pairs.jsonl"), pairsToJsonl(loaded.pairs))
        writeJson(join(ctx.outDir, "summary.json"), {
          format: ctx.params["data.format"],
          pairs: loaded.pairs.length,
          counts: loaded.counts,
          dropped: loaded.dropped,
          summary: summarisePairs(loaded.pairs),
          ...loaded.details,
        })
      })
      const droppedTotal = Object.values(loaded.dropped).reduce((a, b) => a + b, 0)
      yield* ctx.log(`read ${loaded.pairs.length} pairs; left out ${droppedTotal} (${JSON.stringify(loaded.dropped)})`)
    }),
})
