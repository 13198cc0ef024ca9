/**
 * The stage contract: what a stage module under `stages/` exports and what its
 * `run` Effect receives. Everything in `StageContext` crosses a process or
 * worker boundary, so it holds only serialisable data and callbacks that the
 * engine wires to IPC.
 */
import type { Effect } from "effect"
import * as Data from "effect/Data"

/** A matrix value as written in `pipeline.yaml` after parameter expansion. */
export type MatrixValue = string | number | boolean

/** One upstream instance whose outputs a stage reads. */
export interface UpstreamInstance {
  /** Readable instance name, e.g. `split[split=S1_age]`. */
  readonly name: string
  readonly stage: string
  readonly matrix: Readonly<Record<string, MatrixValue>>
  /** Output file name (relative to the instance's output folder) to an absolute path. */
  readonly files: Readonly<Record<string, string>>
}

/** Progress of a long-running instance, e.g. a training step. */
export interface ProgressUpdate {
  readonly step: number
  readonly total: number
  /** Latest metrics, e.g. `{ loss: 0.69, margin: 0.01, acc: 0.5, w_mean: 0.2 }`. */
  readonly metrics?: Readonly<Record<string, number>>
  /** Short label of the phase, e.g. `train` or `eval`. */
  readonly phase?: string
}

export interface StageContext {
  /** Readable instance name, e.g. `train[method=wpo,split=S2_personalisation,group=A,seed=456]`. */
  readonly instance: string
  readonly stage: string
  /** This instance's matrix values. */
  readonly matrix: Readonly<Record<string, MatrixValue>>
  /** The params the stage declared, keyed by their dotted path (e.g. `train.beta`). */
  readonly params: Readonly<Record<string, unknown>>
  /**
   * Upstream outputs by the alias used under `needs:` in `pipeline.yaml`.
   * A reference that matches several instances yields all of them, sorted by name.
   */
  readonly inputs: Readonly<Record<string, ReadonlyArray<UpstreamInstance>>>
  /** Runtime facts computed by the stage's `facts` hook (part of the cache key). */
  readonly facts: Readonly<Record<string, string>>
  /** An empty folder; every file left here when `run` succeeds is an output. */
  readonly outDir: string
  /** Absolute path of the project root (the folder holding `pipeline.yaml`). */
  readonly projectRoot: string
  /** Absolute paths of the file deps after glob and param expansion. */
  readonly deps: ReadonlyArray<string>
  /**
   * Reports progress. Synchronous and non-blocking, so a synchronous loop
   * (e.g. a training step callback) may run it with `Effect.runSync`.
   */
  readonly progress: (update: ProgressUpdate) => Effect.Effect<void>
  /** Appends a line to the instance's log; synchronous like `progress`. */
  readonly log: (message: string) => Effect.Effect<void>
}

/** The error a stage fails with; `message` is shown to the user. */
export class StageError extends Data.TaggedError("StageError")<{
  readonly message: string
  readonly cause?: unknown
}> {}

export interface StageDefinition {
  /**
   * Runtime facts that change results (for example the tensor backend kind).
   * Evaluated in the main process before keys are computed; the values join
   * the cache key. Facts that do not change results belong in logs, not here.
   */
  readonly facts?: (
    params: Readonly<Record<string, unknown>>,
  ) => Readonly<Record<string, string>>
  /**
   * Named resource slots this instance takes while running (e.g. `{ gpu: 1 }`),
   * given its params and facts. Slots are limited by `resources:` in `pipeline.yaml`.
   */
  readonly resources?: (
    params: Readonly<Record<string, unknown>>,
    facts: Readonly<Record<string, string>>,
  ) => Readonly<Record<string, number>>
  readonly run: (ctx: StageContext) => Effect.Effect<void, StageError>
}

/** Declares a stage; a stage module's default export is the returned value. */
export const defineStage = (definition: StageDefinition): StageDefinition => definition
