/**
 * The external store of the live view. It contains the folded view state, the
 * instance labeler and the terminal size, and notifies React on each change
 * (`useSyncExternalStore`).
 */
import { InstanceNames } from "./names.js"
import { initialViewState, reduceView, type ViewInput, type ViewState } from "./state.js"

export interface ViewSnapshot {
  readonly state: ViewState
  readonly names: InstanceNames
  readonly columns: number
  readonly rows: number
}

export interface ViewStoreOptions {
  readonly columns: number
  readonly rows: number
  readonly verbose: boolean
}

export class ViewStore {
  private snapshot: ViewSnapshot
  private readonly listeners = new Set<() => void>()
  private readonly verbose: boolean

  constructor(options: ViewStoreOptions) {
    this.verbose = options.verbose
    this.snapshot = {
      state: initialViewState,
      names: new InstanceNames(),
      columns: options.columns,
      rows: options.rows,
    }
  }

  readonly getSnapshot = (): ViewSnapshot => this.snapshot

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  /** Folds one input into the state and notifies subscribers. */
  readonly dispatch = (input: ViewInput): void => {
    const names = this.snapshot.names
    if (input.type === "run-started") for (const ref of input.instances) names.add(ref)
    else if ("instance" in input) names.add(input.instance)
    const state = reduceView(this.snapshot.state, input, { verbose: this.verbose })
    if (state === this.snapshot.state) return
    this.snapshot = { ...this.snapshot, state }
    this.notify()
  }

  /** Records a new terminal size (after a resize). */
  readonly resize = (columns: number, rows: number): void => {
    if (columns === this.snapshot.columns && rows === this.snapshot.rows) return
    this.snapshot = { ...this.snapshot, columns, rows }
    this.notify()
  }

  private notify(): void {
    for (const listener of this.listeners) listener()
  }
}
