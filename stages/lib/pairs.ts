/**
 * Reading and writing the pair files that study stages pass to each other
 * (one `PreferencePair` as JSON per line, as `pairsToJsonl` writes them).
 */
import { readFileSync } from "node:fs"
import type { PreferencePair } from "../../src/data/index.js"

/** Reads a pair file written by an upstream stage; a bad line names the file and line. */
export const readPairFile = (path: string): PreferencePair[] => {
  const text = readFileSync(path, "utf8")
  const pairs: PreferencePair[] = []
  const lines = text.split("\n")
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!
    if (line.trim() === "") continue
    try {
      pairs.push(JSON.parse(line) as PreferencePair)
    } catch (error) {
      throw new Error(`${path}:${i + 1}: invalid JSON in a pair file written by an upstream stage (${String(error)}); run "pipe invalidate" on that stage and rebuild`)
    }
  }
  return pairs
}

/** Returns the upstream output file `name` of the single instance under `alias`, or throws naming both. */
export const upstreamFile = (
  inputs: Readonly<Record<string, ReadonlyArray<{ readonly name: string; readonly files: Readonly<Record<string, string>> }>>>,
  alias: string,
  name: string,
): string => {
  const instances = inputs[alias]
  if (instances === undefined || instances.length !== 1) {
    throw new Error(`expected exactly one upstream instance under "${alias}", found ${instances?.length ?? 0}; check needs: in pipeline.yaml`)
  }
  const path = instances[0]!.files[name]
  if (path === undefined) {
    throw new Error(`upstream ${instances[0]!.name} has no output "${name}" (outputs: ${Object.keys(instances[0]!.files).join(", ")})`)
  }
  return path
}
