/** Effect wrappers of the synchronous data functions, failing with `DataError`. */
import { Effect } from "effect"
import { DataError } from "./errors.js"
import { loadDataFromParams, type LoadedData } from "./load.js"
import { buildPool, buildSplit, partitionOptionsFromParams, type PoolResult, type SplitResult } from "./partition.js"
import { parseSplit } from "./splits.js"
import type { PreferencePair } from "./types.js"

const toDataError = (cause: unknown): DataError =>
  cause instanceof DataError ? cause : new DataError({ message: `unexpected error in the data layer: ${String(cause)}` })

/** Runs a synchronous data function; a thrown `DataError` becomes the typed failure. */
export const tryData = <A>(run: () => A): Effect.Effect<A, DataError> => Effect.try({ try: run, catch: toDataError })

export const loadDataEffect = (params: Readonly<Record<string, unknown>>, projectRoot: string): Effect.Effect<LoadedData, DataError> =>
  tryData(() => loadDataFromParams(params, projectRoot))

/** Parses the split definition `raw` (the value of `splits.<name>`) and builds its partition from `params`. */
export const buildSplitEffect = (
  pairs: ReadonlyArray<PreferencePair>,
  name: string,
  raw: unknown,
  params: Readonly<Record<string, unknown>>,
): Effect.Effect<SplitResult, DataError> => tryData(() => buildSplit(pairs, parseSplit(name, raw), partitionOptionsFromParams(params)))

export const buildPoolEffect = (
  pairs: ReadonlyArray<PreferencePair>,
  params: Readonly<Record<string, unknown>>,
): Effect.Effect<PoolResult, DataError> => tryData(() => buildPool(pairs, partitionOptionsFromParams(params)))
