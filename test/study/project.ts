/**
 * A cut-down copy of the study pipeline in a temporary folder: the real
 * stages and library (linked), with a `pipeline.yaml` derived from the
 * project's own and edited by the test. Runs the real `pipe` CLI in a child
 * process and returns its exit code and NDJSON events.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import YAML from "yaml"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")

export interface PipelineDoc {
  params: Record<string, any>
  profiles: Record<string, any>
  stages: Record<string, any>
  [key: string]: unknown
}

export interface PipeResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** Parsed NDJSON events (only with `--json`). */
  readonly events: ReadonlyArray<Record<string, any>>
}

export interface StudyProject {
  readonly dir: string
  /** Rewrites the temporary `pipeline.yaml` from the edited document. */
  readonly write: (edit: (doc: PipelineDoc) => void) => void
  readonly pipe: (...args: string[]) => PipeResult
}

/** Instance ids that ran (started) in a run's events. */
export const ranIds = (result: PipeResult): string[] =>
  result.events.filter((e) => e["type"] === "instance-started").map((e) => String(e["instance"]["id"])).sort()

export const makeStudyProject = (edit: (doc: PipelineDoc) => void): StudyProject => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-study-"))
  for (const entry of ["src", "stages", "node_modules", "bin", "package.json", "package-lock.json", "tsconfig.json"]) {
    symlinkSync(join(repoRoot, entry), join(dir, entry))
  }
  const base = YAML.parse(readFileSync(join(repoRoot, "pipeline.yaml"), "utf8")) as PipelineDoc
  let current: PipelineDoc = structuredClone(base)
  const write = (change: (doc: PipelineDoc) => void) => {
    const next = structuredClone(current)
    change(next)
    current = next
    writeFileSync(join(dir, "pipeline.yaml"), YAML.stringify(current))
  }
  write(edit)
  const pipe = (...args: string[]): PipeResult => {
    const child = spawnSync(process.execPath, [join(repoRoot, "bin", "pipe.mjs"), ...args], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, CI: "1", NO_COLOR: "1" },
      maxBuffer: 64 * 1024 * 1024,
    })
    const events = args.includes("--json")
      ? child.stdout
          .split("\n")
          .filter((line) => line.startsWith("{"))
          .map((line) => JSON.parse(line) as Record<string, any>)
      : []
    return { code: child.status ?? -1, stdout: child.stdout, stderr: child.stderr, events }
  }
  return { dir, write, pipe }
}

/** Keeps only the named splits of the study's split definitions. */
export const keepSplits = (doc: PipelineDoc, names: ReadonlyArray<string>): void => {
  const splits = doc.params["data"]["splits"] as Record<string, unknown>
  doc.params["data"]["splits"] = Object.fromEntries(names.map((name) => [name, splits[name]]))
}
