// Child-process entry that runs one stage instance. The parent forks this file
// with an IPC channel and sends { type: "run", module, context }. This process
// sends "progress" and "log" messages back and ends with "done" or "failed".
// It registers tsx itself, so stage modules can be .ts files; effect is
// imported first because tsx's loader hooks slow down loading its many files,
// and by module rather than through the "effect" index, which loads all of them.
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
// Stage modules and the libraries they use import the "effect" index; loading
// it here, before tsx's loader hooks are registered, measured about 1 s faster
// per instance than loading its files through the hooks.
import "effect"
import { register } from "tsx/esm/api"
import { pathToFileURL } from "node:url"

register()

const send = (message) =>
  new Promise((resolve) => {
    if (!process.connected) return resolve()
    process.send(message, undefined, undefined, () => resolve())
  })

const describe = (error) => {
  if (error instanceof Error) return error.stack ?? error.message
  return String(error)
}

// If the parent goes away (killed, or it interrupted us), stop at once.
process.on("disconnect", () => process.exit(1))
// Ctrl-C in a terminal reaches the whole process group; the parent decides
// what to stop and sends SIGTERM, so this process ignores SIGINT.
process.on("SIGINT", () => {})

// Report uncaught errors through IPC first: tfjs-backend-wasm installs its own
// handlers that print minified source and exit with code 7.
let reported = false
const reportFatal = async (error) => {
  if (reported) return
  reported = true
  await send({ type: "failed", message: `uncaught error: ${describe(error)}` })
  process.exit(1)
}
process.prependListener("uncaughtException", (error) => void reportFatal(error))
process.prependListener("unhandledRejection", (error) => void reportFatal(error))

process.once("message", async (message) => {
  if (message?.type !== "run") return
  const { module, context } = message
  try {
    const loaded = await import(pathToFileURL(module).href)
    const definition = loaded.default
    if (definition === undefined || typeof definition.run !== "function") {
      throw new Error(`${module} must default-export defineStage({ run })`)
    }
    const ctx = {
      ...context,
      // Synchronous and fire-and-forget, so stages may call them with
      // Effect.runSync from inside synchronous loops (e.g. a training step
      // callback). IPC keeps the messages in order before "done".
      progress: (update) => Effect.sync(() => void send({ type: "progress", update })),
      log: (line) => Effect.sync(() => void send({ type: "log", line: String(line) })),
    }
    const exit = await Effect.runPromiseExit(definition.run(ctx))
    if (Exit.isSuccess(exit)) {
      reported = true
      await send({ type: "done" })
      process.exit(0)
    }
    const failure = Cause.failureOption(exit.cause)
    const text = Option.isSome(failure)
      ? typeof failure.value?.message === "string"
        ? failure.value.message
        : String(failure.value)
      : Cause.pretty(exit.cause)
    reported = true
    await send({ type: "failed", message: text })
    process.exit(1)
  } catch (error) {
    await reportFatal(error)
  }
})
