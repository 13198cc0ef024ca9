/**
 * The incremental runner. Each selected instance is a fiber that waits for
 * its upstream instances, computes its key, and either takes the store entry
 * (a cache hit) or runs the stage through the executor under the `-j`
 * semaphore and its resource slots. Results go to the store (objects, then
 * the manifest) and to `pipeline.lock`; target outputs are materialised under
 * `out/`. The runner emits `RunEvent`s and never prints.
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { existsSync, lstatSync, mkdirSync, readdirSync, symlinkSync } from "node:fs"
import { mkdir, rename, rm, writeFile } from "node:fs/promises"
import { dirname, join } from "node:path"
import { EngineError, FrozenLockError, SpecError } from "./errors.js"
import type { InstanceRef, RunEvent } from "./events.js"
import { StageFailure, type Executor, type StageJobContext } from "./executor.js"
import { makePooledExecutor } from "./pool.js"
import { fastGlob, hashFileUncached, hashString } from "./hash.js"
import type { KeyInputs } from "./keys.js"
import { updateLock, withFileLock, type LockEntry, type LockFile } from "./lockfile.js"
import { upstreamClosure, type Instance } from "./plan.js"
import { outputHashes, type Project } from "./project.js"
import { matchesWhere, type Where } from "./select.js"
import { FifoSemaphore } from "./slots.js"
import type { UpstreamInstance } from "./stage.js"
import type { Manifest, StoredOutput } from "./store.js"

export interface RunOptions {
  /** Instances whose outputs are wanted; their upstream closure runs too. */
  readonly targets: ReadonlyArray<Instance>
  /** `--where` filter; with `force`, only matching instances are forced. */
  readonly where?: Where
  readonly force?: boolean
  readonly keepGoing?: boolean
  readonly jobs: number
  /** Fail instead of changing `pipeline.lock`. */
  readonly frozen?: boolean
  /** Replay stored logs as `instance-log` events on cache hits. */
  readonly verbose?: boolean
  /** Copy target outputs to `out/...` (default true). */
  readonly materialise?: boolean
  /** Write `pipeline.lock` (default true). */
  readonly writeLock?: boolean
  readonly executor?: Executor
  readonly onEvent: (event: RunEvent) => void
}

export type Outcome =
  | { readonly kind: "ok"; readonly key: string; readonly outputs: Readonly<Record<string, string>>; readonly ran: boolean }
  | { readonly kind: "failed"; readonly error: string }
  | { readonly kind: "skipped" }

export interface RunResult {
  readonly outcomes: ReadonlyMap<string, Outcome>
  readonly materialised: Readonly<Record<string, string>>
  readonly ran: number
  readonly cached: number
  readonly failed: number
  readonly skipped: number
  readonly interrupted: boolean
}

const safeName = (id: string): string => id.replace(/[^A-Za-z0-9._=-]+/g, "_").slice(0, 120)

const isPattern = (name: string): boolean => /[*?[\]{}]/.test(name)

/** Lists every regular file under `dir` as a relative POSIX path; rejects symbolic links. */
const listFiles = (dir: string, prefix = ""): Array<string> => {
  const out: Array<string> = []
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name)
    const rel = prefix === "" ? name : `${prefix}/${name}`
    const stats = lstatSync(path)
    if (stats.isDirectory()) out.push(...listFiles(path, rel))
    else if (stats.isFile()) out.push(rel)
    else throw new Error(`output ${rel} is not a regular file (symbolic links and special files cannot be stored)`)
  }
  return out
}

/** Checks the declared outputs against the files a stage left; returns what is missing. */
const missingOutputs = (declared: ReadonlyArray<string>, files: ReadonlyArray<string>, outDir: string): Array<string> => {
  const present = new Set(files)
  return declared.filter((name) =>
    isPattern(name) ? fastGlob().sync(name, { cwd: outDir, onlyFiles: true }).length === 0 : !present.has(name),
  )
}

export const runPipeline = (
  project: Project,
  options: RunOptions,
): Effect.Effect<RunResult, StageFailure | FrozenLockError | EngineError | SpecError> =>
  Effect.gen(function* () {
    const started = Date.now()
    const executor = options.executor ?? makePooledExecutor(Math.max(1, options.jobs))
    const emit = options.onEvent
    const where = options.where ?? {}
    const closure = upstreamClosure(project.plan, options.targets)
    const targetIds = new Set(options.targets.map((t) => t.id))
    const lock: LockFile = yield* Effect.try({ try: () => project.readLock(), catch: (e) => e as EngineError })
    const jobs = new FifoSemaphore(Math.max(1, options.jobs))
    const slots = new Map<string, FifoSemaphore>()
    for (const [slot, capacity] of Object.entries(project.spec.resources)) slots.set(slot, new FifoSemaphore(capacity))
    const deferreds = new Map<string, Deferred.Deferred<Outcome>>()
    for (const instance of closure) deferreds.set(instance.id, yield* Deferred.make<Outcome>())
    const outcomes = new Map<string, Outcome>()
    const lockEntries: Record<string, LockEntry> = {}
    const counts = { ran: 0, cached: 0, failed: 0, skipped: 0 }
    let materialised: Record<string, string> = {}
    let interrupted = false

    // Import stage modules up front, in plan order, so a broken module fails before anything runs.
    for (const stage of new Set(closure.map((i) => i.stage))) {
      yield* Effect.tryPromise({ try: () => project.stageInfo(stage), catch: (cause) => asEngineError(cause, closure.find((i) => i.stage === stage)!) })
    }
    project.store.cleanStaleTemp()
    // Registering under gc.lock means a concurrent `pipe gc` either finishes first or finds this run's marker.
    const unmark = yield* Effect.promise(() => withFileLock(join(project.store.root, "gc.lock"), async () => project.store.markRunning()))

    emit({
      type: "run-started",
      at: Date.now(),
      targets: options.targets.map((t) => t.id),
      instances: closure.map((i) => i.ref),
      concurrency: Math.max(1, options.jobs),
    })

    const settle = (instance: Instance, outcome: Outcome): Effect.Effect<void> => {
      outcomes.set(instance.id, outcome)
      if (outcome.kind === "ok") lockEntries[instance.id] = { key: outcome.key, outputs: outcome.outputs }
      return Deferred.succeed(deferreds.get(instance.id)!, outcome).pipe(Effect.asVoid)
    }

    const checkFrozen = (instance: Instance, key: string, outputs?: Readonly<Record<string, string>>): Effect.Effect<void, FrozenLockError> => {
      if (options.frozen !== true) return Effect.void
      const entry = lock.instances[instance.id]
      if (entry === undefined) return Effect.fail(new FrozenLockError({ message: `--frozen: ${instance.id} has no entry in pipeline.lock` }))
      if (entry.key !== key) return Effect.fail(new FrozenLockError({ message: `--frozen: the key of ${instance.id} changed (${entry.key} -> ${key})` }))
      if (outputs !== undefined && JSON.stringify(sorted(entry.outputs)) !== JSON.stringify(sorted(outputs))) {
        return Effect.fail(new FrozenLockError({ message: `--frozen: the outputs of ${instance.id} differ from pipeline.lock` }))
      }
      return Effect.void
    }

    const stageContext = (instance: Instance, inputs: KeyInputs, outDir: string, inDir: string): Effect.Effect<StageJobContext, EngineError> =>
      Effect.tryPromise({
        try: async () => {
          const upstream: Record<string, Array<UpstreamInstance>> = {}
          for (const input of instance.inputs) {
            upstream[input.alias] = input.instances.map((u) => {
              const outcome = outcomes.get(u.id)
              const hashes = outcome?.kind === "ok" ? outcome.outputs : {}
              const files: Record<string, string> = {}
              const folder = join(inDir, safeName(u.id))
              for (const [name, hash] of Object.entries(hashes)) {
                // Symbolic links keep output names (and extensions) without touching the object's inode.
                const link = join(folder, name)
                mkdirSyncRecursive(dirname(link))
                symlinkSync(project.store.objectPath(hash), link)
                files[name] = link
              }
              return { name: u.id, stage: u.stage.name, matrix: u.matrix, files }
            })
          }
          return {
            instance: instance.id,
            stage: instance.stage.name,
            matrix: instance.matrix,
            params: instance.params,
            inputs: upstream,
            facts: inputs.facts,
            outDir,
            projectRoot: project.root,
            deps: [...project.depFiles(instance)],
          }
        },
        catch: (cause) => new EngineError({ message: `preparing inputs of ${instance.id} failed: ${String(cause)}`, cause }),
      })

    const storeOutputs = (instance: Instance, key: string, inputs: KeyInputs, outDir: string, log: ReadonlyArray<string>, durationMs: number) =>
      Effect.tryPromise({
        try: async (): Promise<Manifest> => {
          const files = listFiles(outDir)
          const missing = missingOutputs(instance.stage.outputs, files, outDir)
          if (missing.length > 0) {
            throw new StageFailure({
              message: `the stage reported success but did not write its declared output${missing.length > 1 ? "s" : ""} ${missing.join(", ")} (it wrote: ${files.join(", ") || "nothing"})`,
            })
          }
          const outputs: Record<string, StoredOutput> = {}
          for (const name of files) {
            const path = join(outDir, name)
            const hash = await hashFileUncached(path)
            const size = lstatSync(path).size
            await project.store.putFile(path, hash)
            outputs[name] = { hash, size }
          }
          let logHash: string | null = null
          if (log.length > 0) {
            const text = `${log.join("\n")}\n`
            logHash = await hashString(text)
            await project.store.putBytes(text, logHash)
          }
          const manifest: Manifest = {
            format: inputs.format,
            key,
            instance: instance.id,
            stage: instance.stage.name,
            inputs,
            outputs,
            log: logHash,
            runtime: runtimeFacts(),
            durationMs,
            createdAt: new Date().toISOString(),
          }
          await project.store.writeManifest(manifest)
          return manifest
        },
        catch: (cause) =>
          cause instanceof StageFailure ? cause : new StageFailure({ message: `storing outputs failed: ${cause instanceof Error ? cause.message : String(cause)}` }),
      })

    const execute = (instance: Instance, key: string, inputs: KeyInputs, reason: string) =>
      Effect.acquireUseRelease(
        Effect.promise(() => project.store.makeTempDir(instance.stage.name)),
        (tmp) =>
          Effect.gen(function* () {
            const outDir = join(tmp, "out")
            yield* Effect.promise(() => mkdir(outDir, { recursive: true }))
            const context = yield* stageContext(instance, inputs, outDir, join(tmp, "in"))
            const log: Array<string> = []
            const t0 = Date.now()
            emit({ type: "instance-started", at: t0, instance: instance.ref, key, reason })
            const info = yield* Effect.promise(() => project.stageInfo(instance.stage))
            const result = yield* executor
              .execute(
                { modulePath: info.modulePath, context, cwd: project.root },
                {
                  onLog: (line) => {
                    log.push(line)
                    emit({ type: "instance-log", at: Date.now(), instance: instance.ref, line })
                  },
                  onProgress: (update) =>
                    emit({
                      type: "instance-progress",
                      at: Date.now(),
                      instance: instance.ref,
                      step: update.step,
                      total: update.total,
                      ...(update.phase === undefined ? {} : { phase: update.phase }),
                      ...(update.metrics === undefined ? {} : { metrics: update.metrics }),
                    }),
                },
              )
              .pipe(
                Effect.zipRight(Effect.suspend(() => storeOutputs(instance, key, inputs, outDir, log, Date.now() - t0))),
                Effect.onInterrupt(() => Effect.sync(() => emit({ type: "instance-interrupted", at: Date.now(), instance: instance.ref }))),
                Effect.exit,
              )
            const durationMs = Date.now() - t0
            if (Exit.isSuccess(result)) {
              const outputs = outputHashes(result.value)
              const previous = lock.instances[instance.id]
              const unchanged = previous !== undefined && JSON.stringify(sorted(previous.outputs)) === JSON.stringify(sorted(outputs))
              yield* checkFrozen(instance, key, outputs)
              counts.ran++
              emit({ type: "instance-succeeded", at: Date.now(), instance: instance.ref, key, durationMs, unchanged })
              yield* settle(instance, { kind: "ok", key, outputs, ran: true })
              return
            }
            const failure = result.cause
            const error = failureMessage(failure)
            if (error === undefined) return yield* Effect.failCause(failure)
            const logPath = yield* Effect.promise(() => writeFailureLog(project, instance, log, error))
            counts.failed++
            emit({ type: "instance-failed", at: Date.now(), instance: instance.ref, durationMs, error, logPath })
            yield* settle(instance, { kind: "failed", error })
            if (options.keepGoing !== true) return yield* Effect.fail(new StageFailure({ message: `${instance.id} failed: ${error}` }))
          }),
        (tmp) => Effect.promise(() => rm(tmp, { recursive: true, force: true })),
      )

    const withSlots = <A, E, R>(resources: Readonly<Record<string, number>>, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
      let wrapped = jobs.withPermits(1)(effect)
      for (const slot of Object.keys(resources).sort().reverse()) {
        const count = resources[slot]!
        if (count > 0) wrapped = slots.get(slot)!.withPermits(count)(wrapped)
      }
      return wrapped
    }

    const processInstance = (instance: Instance) =>
      Effect.gen(function* () {
        emit({ type: "instance-queued", at: Date.now(), instance: instance.ref })
        for (const input of instance.inputs) {
          for (const upstream of input.instances) {
            const outcome = yield* Deferred.await(deferreds.get(upstream.id)!)
            if (outcome.kind !== "ok") {
              counts.skipped++
              emit({ type: "instance-skipped", at: Date.now(), instance: instance.ref, reason: `upstream ${upstream.id} ${outcome.kind === "failed" ? "failed" : "was skipped"}` })
              return yield* settle(instance, { kind: "skipped" })
            }
          }
        }
        const inputs = yield* Effect.tryPromise({
          try: () =>
            project.keyInputs(instance, (id) => {
              const outcome = outcomes.get(id)
              return outcome?.kind === "ok" ? outcome.outputs : {}
            }),
          catch: (cause) => asEngineError(cause, instance),
        })
        const key = project.key(inputs)
        const forced = options.force === true && (Object.keys(where).length === 0 || matchesWhere(instance, where))
        let reason = "forced"
        if (!forced) {
          const found = yield* Effect.promise(() => project.lookup(key))
          if ("manifest" in found) {
            yield* checkFrozen(instance, key, outputHashes(found.manifest))
            counts.cached++
            if (options.verbose === true && found.manifest.log !== null) {
              const text = yield* Effect.try({ try: () => project.store.readLog(found.manifest.log!), catch: () => undefined }).pipe(Effect.orElseSucceed(() => ""))
              for (const line of text.split("\n").slice(0, -1)) emit({ type: "instance-log", at: Date.now(), instance: instance.ref, line })
            }
            emit({ type: "instance-cached", at: Date.now(), instance: instance.ref, key })
            return yield* settle(instance, { kind: "ok", key, outputs: outputHashes(found.manifest), ran: false })
          }
          const reasons = yield* Effect.promise(() => project.staleReasons(instance, key, inputs, lock, found.problems))
          reason = reasons.join("; ")
        }
        yield* checkFrozen(instance, key)
        const resources = yield* Effect.tryPromise({ try: () => project.resources(instance), catch: (cause) => asEngineError(cause, instance) })
        yield* withSlots(resources, execute(instance, key, inputs, reason))
      })

    const finish = Effect.gen(function* () {
      if (options.writeLock !== false && options.frozen !== true && Object.keys(lockEntries).length > 0) {
        yield* Effect.promise(() =>
          // Entries of other matrix values (another profile, a --set run, a removed seed) stay, so a
          // one-off run does not make `pipe gc` delete the main build. Only removed stages are dropped.
          updateLock(project.lockPath, { set: lockEntries, keepStages: new Set(project.plan.instances.map((i) => i.stage.name)) }),
        )
      }
      yield* Effect.promise(() => project.store.statCache.save())
      unmark()
    })

    let finished = false
    const emitFinished = (): void => {
      if (finished) return
      finished = true
      emit({
        type: "run-finished",
        at: Date.now(),
        wallMs: Date.now() - started,
        ran: counts.ran,
        cached: counts.cached,
        failed: counts.failed,
        skipped: counts.skipped + closure.filter((i) => !outcomes.has(i.id)).length,
        interrupted,
        materialised,
      })
    }

    const all = Effect.forEach(closure, processInstance, { concurrency: "unbounded", discard: true }).pipe(
      Effect.onInterrupt(() => Effect.sync(() => (interrupted = true))),
      Effect.ensuring(finish),
    )
    const body = Effect.gen(function* () {
      const exit = yield* Effect.exit(all)
      if (!interrupted && options.materialise !== false) {
        const ready = closure.filter((i) => targetIds.has(i.id) && outcomes.get(i.id)?.kind === "ok")
        materialised = yield* Effect.tryPromise({
          try: () => withFileLock(join(project.store.root, "materialise.lock"), () => materialise(project, ready, outcomes)),
          catch: (cause) => new EngineError({ message: `materialising outputs failed: ${String(cause)}`, cause }),
        })
      }
      emitFinished()
      const result: RunResult = {
        outcomes,
        materialised,
        ...counts,
        skipped: counts.skipped + closure.filter((i) => !outcomes.has(i.id)).length,
        interrupted,
      }
      if (Exit.isFailure(exit)) return yield* Effect.failCause(exit.cause)
      return result
    })
    // An interrupted run still reports how far it got.
    return yield* body.pipe(
      Effect.onInterrupt(() =>
        Effect.sync(() => {
          interrupted = true
          emitFinished()
        }),
      ),
    )
  })

const mkdirSyncRecursive = (dir: string): void => {
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true })
}

const sorted = (record: Readonly<Record<string, string>>): Array<[string, string]> =>
  Object.keys(record)
    .sort()
    .map((name) => [name, record[name]!])

/** Keeps spec and engine errors as they are (a spec error carries its position) and wraps anything else. */
const asEngineError = (cause: unknown, instance: Instance): EngineError | SpecError => {
  if (cause instanceof EngineError || cause instanceof SpecError) return cause
  return new EngineError({ message: `${instance.id}: ${cause instanceof Error ? cause.message : String(cause)}`, cause })
}

const failureMessage = (cause: Cause.Cause<unknown>): string | undefined => {
  for (const failure of causeFailures(cause)) {
    if (failure instanceof StageFailure) return failure.message
  }
  return undefined
}

const causeFailures = (cause: Cause.Cause<unknown>): Array<unknown> => Chunk.toReadonlyArray(Cause.failures(cause)) as Array<unknown>

/** Facts recorded in manifests for provenance; they are not part of keys. */
export const runtimeFacts = (): Record<string, string> => ({
  node: process.version,
  platform: process.platform,
  arch: process.arch,
  ...(process.env.PIPE_BACKEND === undefined ? {} : { backend_request: process.env.PIPE_BACKEND }),
})

const writeFailureLog = async (project: Project, instance: Instance, log: ReadonlyArray<string>, error: string): Promise<string> => {
  const dir = join(project.store.root, "logs")
  await mkdir(dir, { recursive: true })
  const path = join(dir, `${safeName(instance.id)}.log`)
  await writeFile(path, `${[...log, `error: ${error}`].join("\n")}\n`)
  return path
}

/** Copies each instance's outputs to its `out/...` folder, replacing the folder atomically. */
const materialise = async (project: Project, instances: ReadonlyArray<Instance>, outcomes: ReadonlyMap<string, Outcome>): Promise<Record<string, string>> => {
  const result: Record<string, string> = {}
  for (const instance of instances) {
    const outcome = outcomes.get(instance.id)
    if (outcome?.kind !== "ok") continue
    const target = join(project.root, instance.materialisePath)
    result[instance.id] = instance.materialisePath
    if (await isMaterialised(project, target, outcome.outputs)) continue
    const staging = `${target}.${process.pid}.tmp`
    await rm(staging, { recursive: true, force: true })
    for (const [name, hash] of Object.entries(outcome.outputs)) {
      const path = join(staging, name)
      await mkdir(dirname(path), { recursive: true })
      await project.store.copyObject(hash, path)
    }
    await mkdir(staging, { recursive: true })
    const old = `${target}.${process.pid}.old`
    await rm(old, { recursive: true, force: true })
    if (existsSync(target)) await rename(target, old)
    await mkdir(dirname(target), { recursive: true })
    await rename(staging, target)
    await rm(old, { recursive: true, force: true })
  }
  return result
}

/** True when `target` contains exactly the outputs, checked through the stat cache. */
const isMaterialised = async (project: Project, target: string, outputs: Readonly<Record<string, string>>): Promise<boolean> => {
  let files: Array<string>
  try {
    files = listFiles(target)
  } catch {
    return false
  }
  const names = Object.keys(outputs).sort()
  if (files.length !== names.length || files.some((file, index) => file !== names[index])) return false
  for (const name of names) {
    if ((await project.store.statCache.hashFile(join(target, name))) !== outputs[name]) return false
  }
  return true
}

export type { InstanceRef }
