/**
 * JSON Lines pair files: the generic `{prompt, chosen, rejected, ...}` form
 * (which is also what this package writes) and the Anthropic HH-RLHF
 * transcript form `{chosen, rejected}`.
 */
import { basename } from "node:path"
import { dataError } from "./errors.js"
import { optionalNumber, parseJsonLines, readTextFile, requireString, type TextSource } from "./lines.js"
import { addCount, type DropCounts, type PreferencePair } from "./types.js"

export type PairsFormat = "auto" | "pairs" | "hh-rlhf"

/** The HH-RLHF marker before each assistant turn; the prompt ends with the last one. */
export const HH_ASSISTANT_MARKER = "\n\nAssistant:"
const HH_HUMAN_MARKER = "\n\nHuman:"

/** A line left out of the result, with the reason (e.g. chosen and rejected prompts differ). */
export interface SkippedLine {
  readonly line: number
  readonly reason: string
}

export interface PairsLoadResult {
  readonly pairs: PreferencePair[]
  readonly format: "pairs" | "hh-rlhf"
  readonly counts: Record<string, number>
  readonly dropped: DropCounts
  /** Every line in `dropped`, with its number, so none is left out silently. */
  readonly skipped: SkippedLine[]
}

/** Fields of a generic line that map to `PreferencePair` fields; the rest become attributes. */
const PAIR_FIELDS = new Set(["id", "prompt", "chosen", "rejected", "user_id", "source", "rejected_source", "score_gap", "turn", "attributes"])

export interface HhSplit {
  readonly prompt: string
  readonly chosen: string
  readonly rejected: string
}

/**
 * Splits an HH-RLHF row at the last `\n\nAssistant:` marker: the prompt is the
 * shared text up to and including the marker, each response what follows it.
 * Returns the reason instead when the marker is missing or the prefixes differ.
 */
export const splitHhTranscript = (chosen: string, rejected: string): HhSplit | { readonly reason: string } => {
  const ci = chosen.lastIndexOf(HH_ASSISTANT_MARKER)
  const ri = rejected.lastIndexOf(HH_ASSISTANT_MARKER)
  if (ci < 0 || ri < 0) return { reason: `no "\\n\\nAssistant:" marker in ${ci < 0 ? "chosen" : "rejected"}` }
  const end = ci + HH_ASSISTANT_MARKER.length
  const prompt = chosen.slice(0, end)
  if (rejected.slice(0, ri + HH_ASSISTANT_MARKER.length) !== prompt) {
    let at = 0
    while (at < chosen.length && at < rejected.length && chosen[at] === rejected[at]) at++
    return {
      reason: `chosen and rejected differ before their last "\\n\\nAssistant:" (first difference at character ${at}; markers at ${ci} and ${ri})`,
    }
  }
  return { prompt, chosen: chosen.slice(end), rejected: rejected.slice(ri + HH_ASSISTANT_MARKER.length) }
}

const countOccurrences = (text: string, marker: string): number => {
  let n = 0
  for (let at = text.indexOf(marker); at >= 0; at = text.indexOf(marker, at + marker.length)) n++
  return n
}

const detectFormat = (value: Record<string, unknown>): "pairs" | "hh-rlhf" =>
  value.prompt === undefined && typeof value.chosen === "string" && typeof value.rejected === "string" ? "hh-rlhf" : "pairs"

/** Reads a JSONL pair file (plain or gzip) from disk. */
export const loadPairsFile = (path: string, format: PairsFormat = "auto"): PairsLoadResult =>
  loadPairs(readTextFile(path), format)

/** Reads JSONL pairs already in memory. */
export const loadPairs = (source: TextSource, format: PairsFormat = "auto"): PairsLoadResult => {
  const lines = parseJsonLines(source)
  if (lines.length === 0) {
    throw dataError({ file: source.file }, "the file contains no JSON lines", "Point data.path at a non-empty pairs file")
  }
  const resolved = format === "auto" ? detectFormat(lines[0].value) : format
  const name = basename(source.file)
  const counts: Record<string, number> = { lines: lines.length }
  const dropped: DropCounts = {}
  const skipped: SkippedLine[] = []
  const pairs: PreferencePair[] = []
  const seenIds = new Map<string, number>()

  for (const { line, value } of lines) {
    const at = { file: source.file, line }
    let pair: PreferencePair
    if (resolved === "hh-rlhf") {
      const chosenText = requireString(value, "chosen", at)
      const rejectedText = requireString(value, "rejected", at)
      const split = splitHhTranscript(chosenText, rejectedText)
      if ("reason" in split) {
        addCount(dropped, split.reason.startsWith("no ") ? "no_assistant_marker" : "prompt_prefix_differs")
        skipped.push({ line, reason: split.reason })
        continue
      }
      const id = `${name}:${line}`
      pair = {
        id,
        prompt: split.prompt,
        chosen: split.chosen,
        rejected: split.rejected,
        user_id: id,
        source: "hh-rlhf",
        score_gap: null,
        turn: countOccurrences(split.prompt, HH_ASSISTANT_MARKER) - 1,
        attributes: {
          human_turns: countOccurrences(split.prompt, HH_HUMAN_MARKER),
          prompt_length: split.prompt.length,
        },
      }
    } else {
      const prompt = requireString(value, "prompt", at)
      const chosen = requireString(value, "chosen", at)
      const rejected = requireString(value, "rejected", at)
      const id = value.id === undefined ? `${name}:${line}` : requireString(value, "id", at)
      const userId = value.user_id === undefined ? id : requireString(value, "user_id", at)
      const source = value.source === undefined ? "unknown" : requireString(value, "source", at)
      const turnValue = optionalNumber(value, "turn", at)
      if (turnValue !== null && !Number.isInteger(turnValue)) {
        throw dataError({ ...at, field: "turn" }, `expected an integer, found ${turnValue}`, "Fix the value")
      }
      const nested = value.attributes
      if (nested !== undefined && (nested === null || typeof nested !== "object" || Array.isArray(nested))) {
        throw dataError({ ...at, field: "attributes" }, `expected an object, found ${JSON.stringify(nested)}`, "Fix the value")
      }
      const attributes: Record<string, unknown> = { ...(nested as Record<string, unknown> | undefined) }
      for (const key of Object.keys(value)) {
        if (!PAIR_FIELDS.has(key)) attributes[key] = value[key]
      }
      pair = {
        id,
        prompt,
        chosen,
        rejected,
        user_id: userId,
        source,
        ...(typeof value.rejected_source === "string" ? { rejected_source: value.rejected_source } : {}),
        score_gap: optionalNumber(value, "score_gap", at),
        turn: turnValue ?? 0,
        attributes,
      }
    }
    const first = seenIds.get(pair.id)
    if (first !== undefined) {
      throw dataError({ ...at, field: "id" }, `duplicate pair id ${JSON.stringify(pair.id)} (first on line ${first})`, "Give every pair a unique id")
    }
    seenIds.set(pair.id, line)
    pairs.push(pair)
  }
  counts.pairs = pairs.length
  return { pairs, format: resolved, counts, dropped, skipped }
}

/** Serialises pairs as JSON Lines in the generic form that `loadPairs` reads back. */
export const pairsToJsonl = (pairs: ReadonlyArray<PreferencePair>): string =>
  pairs
    .map((p) =>
      JSON.stringify({
        id: p.id,
        prompt: p.prompt,
        chosen: p.chosen,
        rejected: p.rejected,
        user_id: p.user_id,
        source: p.source,
        ...(p.rejected_source !== undefined ? { rejected_source: p.rejected_source } : {}),
        score_gap: p.score_gap,
        turn: p.turn,
        attributes: p.attributes,
      }),
    )
    .map((line) => `${line}\n`)
    .join("")
