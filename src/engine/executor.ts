/**
 * The local executor: runs one stage instance in a forked child process
 * (`stage-runner.mjs`), so heavy stages use their own core and a crash or a
 * native-library exit cannot take the engine down. Interrupting the returned
 * Effect kills the child (SIGTERM, then SIGKILL after a grace period).
 */
import { fork, type ChildProcess } from "node:child_process"
import { fileURLToPath, pathToFileURL } from "node:url"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import type { ProgressUpdate, StageContext, StageDefinition } from "./stage.js"

/** The serialisable part of a stage context. */
export type StageJobContext = Omit<StageContext, "progress" | "log">

export interface StageJob {
  readonly modulePath: string
  readonly context: StageJobContext
  readonly cwd: string
}

export interface ExecutionHooks {
  readonly onLog: (line: string) => void
  readonly onProgress: (update: ProgressUpdate) => void
}

export class StageFailure extends Data.TaggedError("StageFailure")<{ readonly message: string }> {}

/** An execution backend for stage instances; `localExecutor` forks child processes. */
export interface Executor {
  readonly execute: (job: StageJob, hooks: ExecutionHooks) => Effect.Effect<void, StageFailure>
}

// "../engine/" resolves both from this file and from the engine bundle in src/cli/.
const RUNNER = fileURLToPath(new URL("../engine/stage-runner.mjs", import.meta.url))
const KILL_GRACE_MS = 2_000

const lineSplitter = (emit: (line: string) => void): { push: (chunk: Buffer) => void; flush: () => void } => {
  let pending = ""
  return {
    push: (chunk) => {
      pending += chunk.toString("utf8")
      const lines = pending.split(/\r?\n/)
      pending = lines.pop() ?? ""
      for (const line of lines) emit(line)
    },
    flush: () => {
      if (pending !== "") emit(pending)
      pending = ""
    },
  }
}

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done()
    const timer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS)
    child.once("exit", () => {
      clearTimeout(timer)
      done()
    })
    child.kill("SIGTERM")
  })

export const localExecutor: Executor = {
  execute: (job, hooks) =>
    Effect.async<void, StageFailure>((resume) => {
      const child = fork(RUNNER, [], {
        cwd: job.cwd,
        execArgv: [],
        stdio: ["ignore", "pipe", "pipe", "ipc"],
        env: process.env,
      })
      let failure: string | undefined
      let done = false
      const stderrTail: Array<string> = []
      const stdout = lineSplitter(hooks.onLog)
      const stderr = lineSplitter((line) => {
        stderrTail.push(line)
        if (stderrTail.length > 20) stderrTail.shift()
        hooks.onLog(line)
      })
      child.stdout?.on("data", stdout.push)
      child.stderr?.on("data", stderr.push)
      child.on("message", (raw) => {
        const message = raw as { type: string; update?: ProgressUpdate; line?: string; message?: string }
        if (message.type === "progress" && message.update !== undefined) hooks.onProgress(message.update)
        else if (message.type === "log" && message.line !== undefined) for (const line of message.line.split("\n")) hooks.onLog(line)
        else if (message.type === "failed") failure = message.message ?? "stage failed"
        else if (message.type === "done") done = true
      })
      child.on("error", (error) => {
        failure ??= `could not start the stage process: ${error.message}`
      })
      child.on("close", (code, signal) => {
        stdout.flush()
        stderr.flush()
        if (done && code === 0) return resume(Effect.void)
        const detail =
          failure ??
          (signal !== null
            ? `stage process killed by ${signal}`
            : `stage process exited with code ${String(code)}${stderrTail.length > 0 ? `: ${stderrTail.slice(-5).join("\n")}` : ""}`)
        resume(Effect.fail(new StageFailure({ message: detail })))
      })
      child.send({ type: "run", module: job.modulePath, context: job.context })
      return Effect.promise(() => stopChild(child))
    }),
}

/**
 * Runs stages in this process, one after another on the main thread. Meant
 * for cheap stages and for populating stores in benchmarks; the local
 * executor is the default because heavy stages must not block the engine.
 */
export const inlineExecutor: Executor = {
  execute: (job, hooks) =>
    Effect.gen(function* () {
      const loaded = yield* Effect.tryPromise({
        try: () => import(pathToFileURL(job.modulePath).href) as Promise<{ default?: StageDefinition }>,
        catch: (cause) => new StageFailure({ message: `importing ${job.modulePath} failed: ${String(cause)}` }),
      })
      const definition = loaded.default
      if (definition === undefined || typeof definition.run !== "function") {
        return yield* Effect.fail(new StageFailure({ message: `${job.modulePath} must default-export defineStage({ run })` }))
      }
      const context: StageContext = {
        ...job.context,
        progress: (update) => Effect.sync(() => hooks.onProgress(update)),
        log: (line) => Effect.sync(() => hooks.onLog(line)),
      }
      yield* definition.run(context).pipe(
        Effect.catchAllDefect((defect) => Effect.fail({ message: `uncaught error: ${defect instanceof Error ? defect.message : String(defect)}` })),
        Effect.mapError((error) => new StageFailure({ message: typeof error?.message === "string" ? error.message : String(error) })),
      )
    }),
}
