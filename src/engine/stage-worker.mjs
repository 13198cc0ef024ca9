// Long-lived child process that runs stage instances one after another for
// the pooled executor. The parent sends { type: "run", module, context, cwd };
// this process replies with "progress" and "log" messages and ends each job
// with "done" or "failed", then waits for the next job. Reusing the process
// saves loading effect, tsx and tfjs (about 1-2 s) for every instance.
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
// Stage modules and the libraries they use import the "effect" index; loading
// it before tsx's loader hooks are registered is faster than through them.
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

// An uncaught error leaves the process in an unknown state: report it through
// IPC and exit, so the pool starts a fresh process for the next job.
// tfjs-backend-wasm installs handlers that print minified source and exit
// with code 7, so ours run first.
let reported = false
const reportFatal = async (error) => {
  if (reported) return
  reported = true
  await send({ type: "failed", fatal: true, message: `uncaught error: ${describe(error)}` })
  process.exit(1)
}
process.prependListener("uncaughtException", (error) => void reportFatal(error))
process.prependListener("unhandledRejection", (error) => void reportFatal(error))

const runJob = async ({ module, context, cwd }) => {
  if (cwd !== undefined && cwd !== process.cwd()) process.chdir(cwd)
  const loaded = await import(pathToFileURL(module).href)
  const definition = loaded.default
  if (definition === undefined || typeof definition.run !== "function") {
    return { type: "failed", message: `${module} must default-export defineStage({ run })` }
  }
  const ctx = {
    ...context,
    // Synchronous and fire-and-forget, so stages may call them with
    // Effect.runSync from synchronous loops; IPC keeps them in order.
    progress: (update) => Effect.sync(() => void send({ type: "progress", update })),
    log: (line) => Effect.sync(() => void send({ type: "log", line: String(line) })),
  }
  const exit = await Effect.runPromiseExit(definition.run(ctx))
  if (Exit.isSuccess(exit)) return { type: "done" }
  const failure = Cause.failureOption(exit.cause)
  const text = Option.isSome(failure)
    ? typeof failure.value?.message === "string"
      ? failure.value.message
      : String(failure.value)
    : Cause.pretty(exit.cause)
  return { type: "failed", message: text }
}

process.on("message", async (message) => {
  if (message?.type !== "run") return
  try {
    const result = await runJob(message)
    await send(result)
  } catch (error) {
    await send({ type: "failed", message: describe(error) })
  }
})
