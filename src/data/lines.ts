/** Reading JSON Lines files (plain or gzip) with line numbers kept for errors. */
import { readFileSync } from "node:fs"
import { gunzipSync } from "node:zlib"
import { dataError } from "./errors.js"

/** A text file already in memory; `file` names it in errors. */
export interface TextSource {
  readonly file: string
  readonly text: string
}

/** Reads a file as UTF-8 text, gunzipping it when it starts with the gzip magic bytes. */
export const readTextFile = (path: string): TextSource => {
  let bytes: Buffer
  try {
    bytes = readFileSync(path)
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    throw dataError({ file: path }, `cannot read the file (${code ?? String(cause)})`, "Check the path in data.path")
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes)
    } catch (cause) {
      throw dataError({ file: path }, `invalid gzip data (${String(cause)})`, "Re-download or re-compress the file")
    }
  }
  let text = bytes.toString("utf8")
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
  return { file: path, text }
}

export interface JsonLine {
  /** 1-based line number in the file. */
  readonly line: number
  readonly value: Record<string, unknown>
}

/**
 * Parses every non-blank line as a JSON object. A line that is not valid JSON
 * or not an object fails with the file and line number.
 */
export const parseJsonLines = (source: TextSource): JsonLine[] => {
  const out: JsonLine[] = []
  const lines = source.text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith("\r") ? lines[i].slice(0, -1) : lines[i]
    if (raw.trim() === "") continue
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch (cause) {
      const preview = raw.length > 60 ? `${raw.slice(0, 60)}...` : raw
      throw dataError(
        { file: source.file, line: i + 1 },
        `invalid JSON (${(cause as Error).message}) in line starting ${JSON.stringify(preview)}`,
        "Each line must hold one complete JSON object; fix or remove this line",
      )
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw dataError(
        { file: source.file, line: i + 1 },
        `expected a JSON object, found ${Array.isArray(value) ? "an array" : JSON.stringify(value)}`,
        "Each line must hold one JSON object",
      )
    }
    out.push({ line: i + 1, value: value as Record<string, unknown> })
  }
  return out
}

/** Location of one field of one line, for field-level errors. */
export interface FieldContext {
  readonly file: string
  readonly line: number
}

export const requireString = (obj: Record<string, unknown>, key: string, at: FieldContext, path = key): string => {
  const value = obj[key]
  if (typeof value !== "string") {
    throw dataError(
      { ...at, field: path },
      value === undefined ? "missing required string field" : `expected a string, found ${JSON.stringify(value)}`,
      "Add the field or fix its type",
    )
  }
  return value
}

export const requireInteger = (obj: Record<string, unknown>, key: string, at: FieldContext, path = key): number => {
  const value = obj[key]
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw dataError(
      { ...at, field: path },
      value === undefined ? "missing required integer field" : `expected an integer, found ${JSON.stringify(value)}`,
      "Add the field or fix its type",
    )
  }
  return value
}

/** Returns the number, or null when the field is absent or null; any other type fails. */
export const optionalNumber = (
  obj: Record<string, unknown>,
  key: string,
  at: FieldContext,
  path = key,
): number | null => {
  const value = obj[key]
  if (value === undefined || value === null) return null
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw dataError({ ...at, field: path }, `expected a number or null, found ${JSON.stringify(value)}`, "Fix the value")
  }
  return value
}
