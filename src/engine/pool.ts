/**
 * The local executor: runs each stage instance in a child process
 * (`stage-worker.mjs`), so heavy stages use their own core and a crash or a
 * native-library exit cannot take the engine down. It keeps idle processes
 * and reuses them for later instances of the same run. Loading effect, tsx and tfjs costs
 * about 1-2 s per process on a 2-core machine, which dominated short
 * instances. A process that failed a job, or whose job was interrupted, is
 * killed and never reused, so a broken state cannot leak into the next job.
 */
import { fork, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"
import * as Effect from "effect/Effect"
import { StageFailure, type ExecutionHooks, type Executor, type StageJob } from "./executor.js"
import type { ProgressUpdate } from "./stage.js"

// "../engine/" resolves both from this file and from the engine bundle in src/cli/.
const WORKER = fileURLToPath(new URL("../engine/stage-worker.mjs", import.meta.url))
const KILL_GRACE_MS = 2_000

interface Worker {
  readonly child: ChildProcess
  /** The job's output handlers while a job runs. */
  current: ((message: WorkerMessage) => void) | undefined
  stdout: (chunk: Buffer) => void
  stderr: (chunk: Buffer) => void
}

interface WorkerMessage {
  readonly type: string
  readonly update?: ProgressUpdate
  readonly line?: string
  readonly message?: string
  readonly fatal?: boolean
}

const lineSplitter = (emit: (line: string) => void): { push: (chunk: Buffer) => void; flush: () => void } => {
  let pending = ""
  return {
    push: (chunk) => {
      pending += chunk.toString("utf8")
      const lines = pending.split(/\r?\n/)
      pending = lines.pop() ?? ""
      for (const line of lines) emit(line)
    },
    flush: () => {
      if (pending !== "") emit(pending)
      pending = ""
    },
  }
}

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done()
    const timer = setTimeout(() => child.kill("SIGKILL"), KILL_GRACE_MS)
    child.once("exit", () => {
      clearTimeout(timer)
      done()
    })
    child.kill("SIGTERM")
  })

/** Lets an idle worker not keep the engine's event loop alive. */
const park = (child: ChildProcess): void => {
  child.unref()
  ;(child.channel as { unref?: () => void } | undefined)?.unref?.()
  // The stdout and stderr pipes are sockets that hold the loop open too.
  ;(child.stdout as { unref?: () => void } | null)?.unref?.()
  ;(child.stderr as { unref?: () => void } | null)?.unref?.()
}

const wake = (child: ChildProcess): void => {
  child.ref()
  ;(child.channel as { ref?: () => void } | undefined)?.ref?.()
  ;(child.stdout as { ref?: () => void } | null)?.ref?.()
  ;(child.stderr as { ref?: () => void } | null)?.ref?.()
}

/** Creates an executor that reuses up to `maxIdle` idle stage processes. */
export const makePooledExecutor = (maxIdle: number): Executor => {
  const idle: Worker[] = []

  const spawnWorker = (cwd: string): Worker => {
    const child = fork(WORKER, [], { cwd, execArgv: [], stdio: ["ignore", "pipe", "pipe", "ipc"], env: process.env })
    const worker: Worker = { child, current: undefined, stdout: () => {}, stderr: () => {} }
    child.stdout?.on("data", (chunk: Buffer) => worker.stdout(chunk))
    child.stderr?.on("data", (chunk: Buffer) => worker.stderr(chunk))
    child.on("message", (raw) => worker.current?.(raw as WorkerMessage))
    child.on("exit", () => {
      const at = idle.indexOf(worker)
      if (at >= 0) idle.splice(at, 1)
    })
    return worker
  }

  const take = (cwd: string): Worker => {
    while (idle.length > 0) {
      const worker = idle.pop()!
      if (worker.child.exitCode === null && worker.child.signalCode === null && worker.child.connected) {
        wake(worker.child)
        return worker
      }
    }
    return spawnWorker(cwd)
  }

  const release = (worker: Worker): void => {
    worker.current = undefined
    worker.stdout = () => {}
    worker.stderr = () => {}
    if (idle.length >= maxIdle) {
      void stopChild(worker.child)
      return
    }
    park(worker.child)
    idle.push(worker)
  }

  const execute = (job: StageJob, hooks: ExecutionHooks): Effect.Effect<void, StageFailure> =>
    Effect.async<void, StageFailure>((resume) => {
      const worker = take(job.cwd)
      const child = worker.child
      let finished = false
      const stderrTail: string[] = []
      const stdout = lineSplitter(hooks.onLog)
      const stderr = lineSplitter((line) => {
        stderrTail.push(line)
        if (stderrTail.length > 20) stderrTail.shift()
        hooks.onLog(line)
      })
      worker.stdout = stdout.push
      worker.stderr = stderr.push
      const finish = (failure: string | undefined, reusable: boolean) => {
        if (finished) return
        finished = true
        child.off("exit", onExit)
        stdout.flush()
        stderr.flush()
        if (reusable) release(worker)
        else void stopChild(child)
        resume(failure === undefined ? Effect.void : Effect.fail(new StageFailure({ message: failure })))
      }
      const onExit = (code: number | null, signal: NodeJS.Signals | null) => {
        const detail =
          signal !== null
            ? `stage process killed by ${signal}`
            : `stage process exited with code ${String(code)}${stderrTail.length > 0 ? `: ${stderrTail.slice(-5).join("\n")}` : ""}`
        finish(detail, false)
      }
      child.on("exit", onExit)
      worker.current = (message) => {
        if (message.type === "progress" && message.update !== undefined) hooks.onProgress(message.update)
        else if (message.type === "log" && message.line !== undefined) for (const line of message.line.split("\n")) hooks.onLog(line)
        else if (message.type === "failed") finish(message.message ?? "stage failed", false)
        else if (message.type === "done") finish(undefined, true)
      }
      child.send({ type: "run", module: job.modulePath, context: job.context, cwd: job.cwd })
      return Effect.promise(async () => {
        if (finished) return
        finished = true
        child.off("exit", onExit)
        await stopChild(child)
      })
    })

  return { execute }
}
