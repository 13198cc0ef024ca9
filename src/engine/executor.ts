/**
 * The executor interface for stage instances. The default implementation is
 * the pooled executor in `pool.ts`, which reuses child processes within a run.
 * `inlineExecutor` runs stages on the main thread for benchmarks.
 */
import { pathToFileURL } from "node:url"
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

/** An execution backend for stage instances. */
export interface Executor {
  readonly execute: (job: StageJob, hooks: ExecutionHooks) => Effect.Effect<void, StageFailure>
}

/**
 * Runs stages in this process, one after another on the main thread. Meant
 * for cheap stages and for populating stores in benchmarks; the pooled
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
