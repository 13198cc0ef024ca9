/**
 * The view model behind the live view: a pure fold of `RunEvent`s. Times come
 * from the events' `at` stamps (and from clock ticks the renderer feeds in), so
 * the same event script always yields the same state and the same frames.
 */
import type { InstanceRef, RunEvent } from "../engine/events.js"

export type InstanceStatus =
  | "pending"
  | "queued"
  | "cached"
  | "running"
  | "done"
  | "failed"
  | "skipped"
  | "interrupted"

/** One progress report: time (ms since epoch) and step. */
interface ProgressSample {
  readonly at: number
  readonly step: number
}

export interface InstanceView {
  readonly ref: InstanceRef
  readonly status: InstanceStatus
  readonly startedAt?: number
  /** Reason the runner started it, e.g. `no cache entry`. */
  readonly reason?: string
  readonly step?: number
  readonly total?: number
  readonly phase?: string
  readonly metrics?: Readonly<Record<string, number>>
  /** Recent progress samples of the current phase, oldest first. */
  readonly samples: ReadonlyArray<ProgressSample>
  readonly lastLog?: string
  readonly durationMs?: number
  readonly unchanged?: boolean
  readonly error?: string
  readonly logPath?: string
  readonly skipReason?: string
}

/** A line printed once above the live area (Ink `<Static>`). */
export type StaticEntry =
  | { readonly key: string; readonly kind: "done"; readonly instance: InstanceRef; readonly durationMs: number; readonly unchanged: boolean }
  | { readonly key: string; readonly kind: "failed"; readonly instance: InstanceRef; readonly durationMs: number; readonly error: string; readonly logPath: string }
  | { readonly key: string; readonly kind: "skipped"; readonly instance: InstanceRef; readonly reason: string }
  | { readonly key: string; readonly kind: "interrupted"; readonly instance: InstanceRef }
  | { readonly key: string; readonly kind: "cached"; readonly instance: InstanceRef }
  | { readonly key: string; readonly kind: "started"; readonly instance: InstanceRef; readonly reason: string }
  | { readonly key: string; readonly kind: "log"; readonly instance: InstanceRef; readonly line: string }

export type RunFinished = Extract<RunEvent, { type: "run-finished" }>

export interface ViewState {
  readonly startedAt?: number
  /** Latest known time: the newest event stamp or clock tick. */
  readonly now: number
  readonly targets: ReadonlyArray<string>
  readonly concurrency: number
  /** Instance ids in the order the runner listed them (topological). */
  readonly order: ReadonlyArray<string>
  readonly instances: ReadonlyMap<string, InstanceView>
  /** Stage names in first-seen order. */
  readonly stages: ReadonlyArray<string>
  readonly staticEntries: ReadonlyArray<StaticEntry>
  /** Set once the user asked the run to stop (SIGINT or the first interrupted instance). */
  readonly stopping?: { readonly at: number; readonly running: number }
  readonly finished?: RunFinished
  /** Set when the renderer closed; a run stopped before `run-finished` then shows a summary built from the counts. */
  readonly closedAt?: number
}

/** Input to the reducer besides run events. */
export type ViewInput =
  | RunEvent
  | { readonly type: "tick"; readonly at: number }
  | { readonly type: "stop-requested"; readonly at: number }
  | { readonly type: "closed"; readonly at: number }

export interface ReduceOptions {
  /** Also print cache hits, start reasons and instance log lines above the live area. */
  readonly verbose: boolean
}

/** Maximum number of progress samples kept per instance for the rate estimate. */
const MAX_SAMPLES = 20
/** Samples older than this (ms) relative to the newest one are dropped from the rate window. */
const RATE_WINDOW_MS = 60_000

export const initialViewState: ViewState = {
  now: 0,
  targets: [],
  concurrency: 0,
  order: [],
  instances: new Map(),
  stages: [],
  staticEntries: [],
}

const countStatus = (state: ViewState, status: InstanceStatus): number => {
  let count = 0
  for (const view of state.instances.values()) if (view.status === status) count += 1
  return count
}

const addInstance = (
  instances: Map<string, InstanceView>,
  order: Array<string>,
  stages: Array<string>,
  ref: InstanceRef,
): void => {
  if (instances.has(ref.id)) return
  instances.set(ref.id, { ref, status: "pending", samples: [] })
  order.push(ref.id)
  if (!stages.includes(ref.stage)) stages.push(ref.stage)
}

/** Returns `state` with the view of `ref` replaced by `update(previous)`. */
const updateInstance = (
  state: ViewState,
  ref: InstanceRef,
  update: (previous: InstanceView) => InstanceView,
): ViewState => {
  const instances = new Map(state.instances)
  let order = state.order
  let stages = state.stages
  if (!instances.has(ref.id)) {
    const newOrder = [...order]
    const newStages = [...stages]
    addInstance(instances, newOrder, newStages, ref)
    order = newOrder
    stages = newStages
  }
  const previous = instances.get(ref.id)!
  instances.set(ref.id, update(previous))
  return { ...state, instances, order, stages }
}

const withStatic = (state: ViewState, entry: StaticEntry): ViewState => ({
  ...state,
  staticEntries: [...state.staticEntries, entry],
})

const nextSamples = (
  previous: InstanceView,
  at: number,
  step: number,
  phase: string | undefined,
): ReadonlyArray<ProgressSample> => {
  const samePhase = previous.phase === phase && (previous.step ?? 0) <= step
  const kept = samePhase ? previous.samples.filter((sample) => at - sample.at <= RATE_WINDOW_MS) : []
  return [...kept, { at, step }].slice(-MAX_SAMPLES)
}

/** Folds one input into the view state. */
export const reduceView = (state: ViewState, input: ViewInput, options: ReduceOptions): ViewState => {
  // Closing keeps the clock where the events left it, so the last frame shows event times.
  if (input.type === "closed") return { ...state, closedAt: Math.max(state.now, input.at) }
  const now = Math.max(state.now, input.at)
  const base: ViewState = now === state.now ? state : { ...state, now }
  switch (input.type) {
    case "tick":
      return base
    case "stop-requested":
      if (base.stopping !== undefined || base.finished !== undefined) return base
      return { ...base, stopping: { at: input.at, running: countStatus(base, "running") } }
    case "run-started": {
      const instances = new Map(base.instances)
      const order = [...base.order]
      const stages = [...base.stages]
      for (const ref of input.instances) addInstance(instances, order, stages, ref)
      return {
        ...base,
        startedAt: input.at,
        targets: input.targets,
        concurrency: input.concurrency,
        instances,
        order,
        stages,
      }
    }
    case "instance-queued":
      return updateInstance(base, input.instance, (previous) => ({ ...previous, status: "queued" }))
    case "instance-cached": {
      const next = updateInstance(base, input.instance, (previous) => ({ ...previous, status: "cached" }))
      if (!options.verbose) return next
      return withStatic(next, { key: `${next.staticEntries.length}`, kind: "cached", instance: input.instance })
    }
    case "instance-started": {
      const next = updateInstance(base, input.instance, (previous) => ({
        ...previous,
        status: "running",
        startedAt: input.at,
        reason: input.reason,
        samples: [],
        step: undefined,
        total: undefined,
        phase: undefined,
      }))
      if (!options.verbose) return next
      return withStatic(next, {
        key: `${next.staticEntries.length}`,
        kind: "started",
        instance: input.instance,
        reason: input.reason,
      })
    }
    case "instance-progress":
      return updateInstance(base, input.instance, (previous) => ({
        ...previous,
        step: input.step,
        total: input.total,
        phase: input.phase,
        metrics: input.metrics === undefined ? previous.metrics : { ...previous.metrics, ...input.metrics },
        samples: nextSamples(previous, input.at, input.step, input.phase),
      }))
    case "instance-log": {
      const next = updateInstance(base, input.instance, (previous) => ({ ...previous, lastLog: input.line }))
      if (!options.verbose) return next
      return withStatic(next, {
        key: `${next.staticEntries.length}`,
        kind: "log",
        instance: input.instance,
        line: input.line,
      })
    }
    case "instance-succeeded": {
      const next = updateInstance(base, input.instance, (previous) => ({
        ...previous,
        status: "done",
        durationMs: input.durationMs,
        unchanged: input.unchanged,
      }))
      return withStatic(next, {
        key: `${next.staticEntries.length}`,
        kind: "done",
        instance: input.instance,
        durationMs: input.durationMs,
        unchanged: input.unchanged,
      })
    }
    case "instance-failed": {
      const next = updateInstance(base, input.instance, (previous) => ({
        ...previous,
        status: "failed",
        durationMs: input.durationMs,
        error: input.error,
        logPath: input.logPath,
      }))
      return withStatic(next, {
        key: `${next.staticEntries.length}`,
        kind: "failed",
        instance: input.instance,
        durationMs: input.durationMs,
        error: input.error,
        logPath: input.logPath,
      })
    }
    case "instance-skipped": {
      const next = updateInstance(base, input.instance, (previous) => ({
        ...previous,
        status: "skipped",
        skipReason: input.reason,
      }))
      return withStatic(next, {
        key: `${next.staticEntries.length}`,
        kind: "skipped",
        instance: input.instance,
        reason: input.reason,
      })
    }
    case "instance-interrupted": {
      const stopping = base.stopping ?? { at: input.at, running: countStatus(base, "running") }
      const next = updateInstance({ ...base, stopping }, input.instance, (previous) => ({
        ...previous,
        status: "interrupted",
      }))
      return withStatic(next, { key: `${next.staticEntries.length}`, kind: "interrupted", instance: input.instance })
    }
    case "run-finished":
      return { ...base, finished: input }
  }
}

/** Per-stage counts shown in the group rows; `queued` includes instances not yet decided. */
export interface StageCounts {
  readonly total: number
  readonly cached: number
  readonly running: number
  readonly done: number
  readonly failed: number
  readonly queued: number
  readonly skipped: number
  readonly interrupted: number
}

export const stageCounts = (state: ViewState, stage: string): StageCounts => {
  const counts = { total: 0, cached: 0, running: 0, done: 0, failed: 0, queued: 0, skipped: 0, interrupted: 0 }
  for (const id of state.order) {
    const view = state.instances.get(id)
    if (view === undefined || view.ref.stage !== stage) continue
    counts.total += 1
    switch (view.status) {
      case "pending":
      case "queued":
        counts.queued += 1
        break
      default:
        counts[view.status] += 1
    }
  }
  return counts
}

/** Steps per second over the sample window, or undefined before two samples exist. */
export const stepRate = (view: InstanceView): number | undefined => {
  const first = view.samples[0]
  const last = view.samples[view.samples.length - 1]
  if (first === undefined || last === undefined) return undefined
  if (first === last) {
    if (view.startedAt === undefined || last.step <= 0 || last.at <= view.startedAt) return undefined
    return last.step / ((last.at - view.startedAt) / 1000)
  }
  const seconds = (last.at - first.at) / 1000
  if (seconds <= 0 || last.step <= first.step) return undefined
  return (last.step - first.step) / seconds
}

/** Milliseconds left until `total` at the current rate, or undefined when unknown. */
export const remainingMs = (view: InstanceView): number | undefined => {
  const rate = stepRate(view)
  if (rate === undefined || view.step === undefined || view.total === undefined) return undefined
  return (Math.max(0, view.total - view.step) / rate) * 1000
}

/** Instances still to run when the run stops now: stopped, running, queued or undecided. */
export const resumableIds = (state: ViewState): ReadonlyArray<string> =>
  state.order.filter((id) => {
    const status = state.instances.get(id)?.status
    return status === "interrupted" || status === "running" || status === "queued" || status === "pending"
  })
