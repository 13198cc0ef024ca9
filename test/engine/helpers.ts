/**
 * Helpers for engine tests: throwaway projects in the OS temp folder (with a
 * `node_modules` link to this repository's), the real CLI as a child process,
 * and the engine API in-process with real stage child processes.
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { spawn } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { main } from "../../src/cli/main.js"
import type { RunEvent } from "../../src/engine/events.js"
import { Project, type ProjectOptions } from "../../src/engine/project.js"
import { runPipeline, type RunOptions, type RunResult } from "../../src/engine/runner.js"
import { parseWhere, selectInstances, sinkInstances } from "../../src/engine/select.js"

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")
export const pipeBin = join(repoRoot, "bin", "pipe.mjs")

const created: Array<string> = []

/** Creates a project folder with the given files (paths relative to it). */
export const makeProject = (files: Readonly<Record<string, string>>): string => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-test-"))
  created.push(dir)
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"))
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n')
  for (const [path, text] of Object.entries(files)) writeText(dir, path, text)
  return dir
}

export const writeText = (dir: string, path: string, text: string): void => {
  mkdirSync(dirname(join(dir, path)), { recursive: true })
  writeFileSync(join(dir, path), text)
}

export const readText = (dir: string, path: string): string => readFileSync(join(dir, path), "utf8")

export const removeProjects = (): void => {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `pipe ARGS` in `dir` and waits for it (asynchronously, so the test worker stays responsive). */
export const pipe = (dir: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Promise<CliResult> => pipeAsync(dir, args, env).done

/** Starts `pipe ARGS` in `dir` without waiting. */
export const pipeAsync = (dir: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}) => {
  const child = spawn(process.execPath, [pipeBin, ...args], { cwd: dir, env: { ...process.env, CI: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] })
  let stdout = ""
  let stderr = ""
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const done = new Promise<CliResult>((resolveDone) =>
    child.on("close", (code, signal) => resolveDone({ code, signal, stdout, stderr })),
  )
  return { child, done, output: () => stdout }
}

/** Runs the CLI's `main` in this process with `--file DIR/pipeline.yaml` (for commands that do not need signals). */
export const cli = async (dir: string, args: ReadonlyArray<string>): Promise<CliResult> => {
  let stdout = ""
  let stderr = ""
  const [command, ...rest] = args
  const argv = command === undefined ? [] : [command, "--file", join(dir, "pipeline.yaml"), ...rest]
  const code = await main(argv, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    isTTY: false,
    env: { CI: "1" },
  })
  return { code, signal: null, stdout, stderr }
}

export interface InProcessRun {
  readonly result: RunResult | undefined
  readonly error: unknown
  readonly events: ReadonlyArray<RunEvent>
  /** Ids of instances that ran (started), in start order. */
  readonly ran: ReadonlyArray<string>
  readonly cached: ReadonlyArray<string>
}

/** Opens the project in `dir` and runs targets (default: sinks) in this process. */
export const runIn = async (
  dir: string,
  options: Partial<Omit<RunOptions, "targets" | "onEvent" | "where">> & {
    readonly targets?: ReadonlyArray<string>
    readonly where?: ReadonlyArray<string>
    readonly project?: Omit<ProjectOptions, "file">
  } = {},
): Promise<InProcessRun> => {
  const project = await Project.open({ file: join(dir, "pipeline.yaml"), ...options.project })
  const events: Array<RunEvent> = []
  const targets = options.targets === undefined ? sinkInstances(project.plan) : selectInstances(project.plan, options.targets)
  const exit = await Effect.runPromiseExit(
    runPipeline(project, {
      jobs: 2,
      ...options,
      targets,
      where: parseWhere(project.plan, options.where ?? []),
      onEvent: (event) => events.push(event),
    }),
  )
  return {
    result: Exit.isSuccess(exit) ? exit.value : undefined,
    error: Exit.isFailure(exit) ? exit.cause : undefined,
    events,
    ran: events.flatMap((e) => (e.type === "instance-started" ? [e.instance.id] : [])),
    cached: events.flatMap((e) => (e.type === "instance-cached" ? [e.instance.id] : [])),
  }
}

/** A stage module that writes each declared output with content derived from its params and inputs. */
export const echoStage = (outputs: ReadonlyArray<string>, extra = ""): string => `
import * as Effect from "effect/Effect"
import { readFileSync, writeFileSync, mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
${extra}
export default {
  run: (ctx: any) => Effect.sync(() => {
    const upstream = Object.entries(ctx.inputs).map(([alias, list]: [string, any]) =>
      alias + ":" + list.map((u: any) => Object.values(u.files).map((f: any) => readFileSync(f, "utf8")).join("|")).join(";"))
    const body = JSON.stringify({ instance: ctx.instance, params: ctx.params, upstream }) + "\\n"
    for (const name of ${JSON.stringify(outputs)}) {
      mkdirSync(dirname(join(ctx.outDir, name)), { recursive: true })
      writeFileSync(join(ctx.outDir, name), body)
    }
  }),
}
`
