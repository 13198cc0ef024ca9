/** Glue between synchronous study code and the Effect-based stage contract. */
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { StageError } from "../../src/engine/stage.js"

/** Runs synchronous or async work as a stage Effect, turning any throw into a `StageError` with its message. */
export const attempt = <A>(work: () => A | Promise<A>): Effect.Effect<A, StageError> =>
  Effect.tryPromise({
    try: async () => await work(),
    catch: (error) => new StageError({ message: error instanceof Error ? error.message : String(error), cause: error }),
  })

/** Writes `value` as pretty JSON with a trailing newline (stable key order is the caller's). */
export const writeJson = (path: string, value: unknown): void => {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)
}
