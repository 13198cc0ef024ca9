/**
 * The one error type of the data layer. Its message always names where the
 * problem is (file and line, or split and group) and what to do about it.
 */
import { Data } from "effect"

export class DataError extends Data.TaggedError("DataError")<{
  readonly message: string
  readonly file?: string
  readonly line?: number
  readonly field?: string
  readonly split?: string
}> {}

export interface ErrorLocation {
  readonly file?: string
  readonly line?: number
  readonly field?: string
  readonly split?: string
}

/**
 * Builds a DataError whose message reads
 * `<file>:<line>: field "<field>": <problem>. <fix>` (parts that are unknown are left out).
 */
export const dataError = (where: ErrorLocation, problem: string, fix?: string): DataError => {
  const parts: string[] = []
  if (where.file !== undefined) parts.push(where.line !== undefined ? `${where.file}:${where.line}` : where.file)
  if (where.split !== undefined) parts.push(`split ${where.split}`)
  if (where.field !== undefined) parts.push(`field "${where.field}"`)
  const head = parts.length > 0 ? `${parts.join(": ")}: ` : ""
  const message = `${head}${problem}${fix !== undefined ? `. ${fix}` : ""}`
  return new DataError({ message, ...where })
}
