/**
 * Typed events the runner emits. The runner never prints; renderers (plain
 * lines, NDJSON, the Ink view) consume these.
 */
import type { MatrixValue } from "./stage.js"

export interface InstanceRef {
  /** Readable instance name, e.g. `eval[method=dpo,split=S1_age,group=A,seed=42]`. */
  readonly id: string
  readonly stage: string
  readonly matrix: Readonly<Record<string, MatrixValue>>
}

export type RunEvent =
  | {
      readonly type: "run-started"
      readonly at: number
      readonly targets: ReadonlyArray<string>
      /** Every instance the run will consider, in topological order. */
      readonly instances: ReadonlyArray<InstanceRef>
      readonly concurrency: number
    }
  | { readonly type: "instance-queued"; readonly at: number; readonly instance: InstanceRef }
  | {
      readonly type: "instance-cached"
      readonly at: number
      readonly instance: InstanceRef
      readonly key: string
    }
  | {
      readonly type: "instance-started"
      readonly at: number
      readonly instance: InstanceRef
      readonly key: string
      /** Why it runs: e.g. `param train.beta changed`, `no cache entry`, `forced`. */
      readonly reason: string
    }
  | {
      readonly type: "instance-progress"
      readonly at: number
      readonly instance: InstanceRef
      readonly step: number
      readonly total: number
      readonly phase?: string
      readonly metrics?: Readonly<Record<string, number>>
    }
  | {
      readonly type: "instance-log"
      readonly at: number
      readonly instance: InstanceRef
      readonly line: string
    }
  | {
      readonly type: "instance-succeeded"
      readonly at: number
      readonly instance: InstanceRef
      readonly key: string
      readonly durationMs: number
      /** True when every output hash equals the previous run's (early cut-off downstream). */
      readonly unchanged: boolean
    }
  | {
      readonly type: "instance-failed"
      readonly at: number
      readonly instance: InstanceRef
      readonly durationMs: number
      readonly error: string
      /** Path of the instance's full log. */
      readonly logPath: string
    }
  | {
      readonly type: "instance-interrupted"
      readonly at: number
      readonly instance: InstanceRef
    }
  | {
      readonly type: "instance-skipped"
      readonly at: number
      readonly instance: InstanceRef
      /** E.g. `upstream train[...] failed`. */
      readonly reason: string
    }
  | {
      readonly type: "run-finished"
      readonly at: number
      readonly wallMs: number
      readonly ran: number
      readonly cached: number
      readonly failed: number
      readonly skipped: number
      readonly interrupted: boolean
      /** Stable workspace paths where target outputs were materialised, by instance id. */
      readonly materialised: Readonly<Record<string, string>>
    }

/** A consumer of run events; `close` flushes and tears the view down. */
export interface Renderer {
  readonly onEvent: (event: RunEvent) => void
  readonly close: () => Promise<void>
}
