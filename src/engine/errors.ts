/**
 * Typed engine errors. `SpecError` carries a source position in
 * `pipeline.yaml` and renders as `FILE:LINE:COL`, the offending line, a caret
 * and what was expected.
 */
import * as Data from "effect/Data"

export interface SourcePosition {
  readonly file: string
  readonly line: number
  readonly col: number
  /** The text of the offending line, without its newline. */
  readonly text: string
}

export class SpecError extends Data.TaggedError("SpecError")<{
  readonly message: string
  readonly expected: string
  readonly position?: SourcePosition
}> {}

/** Formats a spec error the way compilers do: location, message, source line, caret, expectation. */
export const formatSpecError = (error: SpecError): string => {
  const { position } = error
  if (position === undefined) {
    return `error: ${error.message}\n  expected: ${error.expected}`
  }
  const lineNo = String(position.line)
  const gutter = " ".repeat(lineNo.length)
  return [
    `${position.file}:${position.line}:${position.col}: error: ${error.message}`,
    ` ${lineNo} | ${position.text}`,
    ` ${gutter} | ${" ".repeat(Math.max(0, position.col - 1))}^`,
    `  expected: ${error.expected}`,
  ].join("\n")
}

/** A command-line usage error (unknown option, bad `--set`, unknown target). */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** A failure of the store, lock file or file system that is not a stage's fault. */
export class EngineError extends Data.TaggedError("EngineError")<{ readonly message: string; readonly cause?: unknown }> {}

/** `--frozen` found that the run would change `pipeline.lock`. */
export class FrozenLockError extends Data.TaggedError("FrozenLockError")<{ readonly message: string }> {}

const levenshtein = (a: string, b: string): number => {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!
    previous[0] = i
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1))
      diagonal = above
    }
  }
  return previous[b.length]!
}

/** Returns `; did you mean "X"?` for the closest candidate within a small edit distance, else "". */
export const didYouMean = (name: string, candidates: Iterable<string>): string => {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = levenshtein(name.toLowerCase(), candidate.toLowerCase())
    if (distance < bestDistance || (distance === bestDistance && best !== undefined && candidate < best)) {
      best = candidate
      bestDistance = distance
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3))
  return best !== undefined && bestDistance <= limit ? `; did you mean "${best}"?` : ""
}
