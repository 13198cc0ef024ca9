/** The preference pair every loader produces and every later stage consumes. */

export interface PreferencePair {
  /** Unique within a dataset, e.g. `c12:2` (PRISM conversation c12, turn 2) or `test.jsonl.gz:17`. */
  readonly id: string
  readonly prompt: string
  readonly chosen: string
  readonly rejected: string
  /** The user who rated the pair. Sources without users give every pair its own id. */
  readonly user_id: string
  /** Source model (PRISM `model_name`) or demo style that wrote the chosen response. */
  readonly source: string
  /** Set only when the rejected response came from a different source model. */
  readonly rejected_source?: string
  /** Chosen score minus rejected score; null where the source has no scores. */
  readonly score_gap: number | null
  /** 0-based turn of the rated responses in their conversation. */
  readonly turn: number
  /** The user's survey attributes (PRISM) or the extra fields of a JSONL line. */
  readonly attributes: Readonly<Record<string, unknown>>
}

/** How many rows were left out, by reason; every loader and step fills one. */
export type DropCounts = Record<string, number>

export const addCount = (counts: DropCounts, reason: string, n = 1): void => {
  counts[reason] = (counts[reason] ?? 0) + n
}
