/**
 * A cut-down copy of the study pipeline in a temporary folder: the real
 * stages and library (linked), with a `pipeline.yaml` derived from the
 * project's own and edited by the test. Runs the real `pipe` CLI in a child
 * process and returns its exit code and NDJSON events.
 */
import { spawn } from "node:child_process"
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
  /** Runs the real CLI asynchronously, so the test worker stays responsive. */
  readonly pipe: (...args: string[]) => Promise<PipeResult>
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
  const pipe = (...args: string[]): Promise<PipeResult> =>
    new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, [join(repoRoot, "bin", "pipe.mjs"), ...args], {
        cwd: dir,
        env: { ...process.env, CI: "1", NO_COLOR: "1" },
      })
      let stdout = ""
      let stderr = ""
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
      child.on("error", reject)
      child.on("close", (code) => {
        const events = args.includes("--json")
          ? stdout
              .split("\n")
              .filter((line) => line.startsWith("{"))
              .map((line) => JSON.parse(line) as Record<string, any>)
          : []
        resolvePromise({ code: code ?? -1, stdout, stderr, events })
      })
    })
  return { dir, write, pipe }
}

/** Keeps only the named splits of the study's split definitions. */
export const keepSplits = (doc: PipelineDoc, names: ReadonlyArray<string>): void => {
  const splits = doc.params["data"]["splits"] as Record<string, unknown>
  doc.params["data"]["splits"] = Object.fromEntries(names.map((name) => [name, splits[name]]))
}
