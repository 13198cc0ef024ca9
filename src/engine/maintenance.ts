/**
 * Store maintenance behind `pipe invalidate`, `pipe gc` and `pipe verify`.
 */
import * as Effect from "effect/Effect"
import { rmSync } from "node:fs"
import { join } from "node:path"
import { EngineError } from "./errors.js"
import type { RunEvent } from "./events.js"
import type { Executor } from "./executor.js"
import { withFileLock } from "./lockfile.js"
import { downstreamClosure, type Instance } from "./plan.js"
import type { Project } from "./project.js"
import { runPipeline } from "./runner.js"

export interface InvalidateResult {
  /** Instances whose cache entries were dropped, selected ones and their dependents, in plan order. */
  readonly instances: ReadonlyArray<string>
  readonly manifestsRemoved: number
}

/**
 * Drops the cache entries (manifests) of the selected instances and of every
 * instance downstream of them, so the next run rebuilds exactly those.
 * Objects stay until `pipe gc`; `pipeline.lock` keeps its entries.
 */
export const invalidate = async (project: Project, selected: ReadonlyArray<Instance>): Promise<InvalidateResult> => {
  const affected = downstreamClosure(project.plan, selected)
  const states = await project.evaluate(project.plan.instances)
  const lock = project.readLock()
  let removed = 0
  for (const instance of affected) {
    const state = states.get(instance.id)
    const keys = new Set<string>()
    if (state !== undefined && state.kind !== "blocked") keys.add(state.key)
    const entry = lock.instances[instance.id]
    if (entry !== undefined) keys.add(entry.key)
    for (const key of keys) if (await project.store.removeManifest(key)) removed++
  }
  return { instances: affected.map((i) => i.id), manifestsRemoved: removed }
}

export interface GcResult {
  readonly objects: ReadonlyArray<{ readonly hash: string; readonly size: number }>
  readonly manifests: ReadonlyArray<string>
  readonly bytes: number
  readonly dryRun: boolean
}

/** Removes manifests whose key no lock entry names and objects no kept manifest or lock entry references. */
export const collectGarbage = async (project: Project, dryRun: boolean): Promise<GcResult> =>
  withFileLock(join(project.store.root, "gc.lock"), async () => {
    const others = project.store.otherLiveRuns()
    if (others.length > 0) {
      throw new EngineError({ message: `pipe run is active in process ${others.join(", ")}; run gc after it finishes` })
    }
    const lock = project.readLock()
    const keptKeys = new Set(Object.values(lock.instances).map((entry) => entry.key))
    const keptObjects = new Set<string>()
    for (const entry of Object.values(lock.instances)) for (const hash of Object.values(entry.outputs)) keptObjects.add(hash)
    const manifests: Array<string> = []
    for (const key of project.store.listManifestKeys()) {
      if (!keptKeys.has(key)) {
        manifests.push(key)
        continue
      }
      const manifest = await project.store.readManifest(key)
      if (manifest === undefined) continue
      for (const output of Object.values(manifest.outputs)) keptObjects.add(output.hash)
      if (manifest.log !== null) keptObjects.add(manifest.log)
    }
    const objects = project.store.listObjects().filter((object) => !keptObjects.has(object.hash))
    if (!dryRun) {
      for (const key of manifests) rmSync(project.store.manifestPath(key), { force: true })
      for (const object of objects) {
        rmSync(object.path, { force: true })
        project.store.statCache.forget(object.path)
      }
      await project.store.statCache.save()
    }
    return {
      objects: objects.map(({ hash, size }) => ({ hash, size })).sort((a, b) => (a.hash < b.hash ? -1 : 1)),
      manifests: manifests.sort(),
      bytes: objects.reduce((sum, object) => sum + object.size, 0),
      dryRun,
    }
  })

export interface VerifyDifference {
  readonly instance: string
  /** Output name, or undefined when the whole instance is at fault. */
  readonly output?: string
  readonly problem: string
}

export interface VerifyResult {
  readonly checked: ReadonlyArray<string>
  readonly differences: ReadonlyArray<VerifyDifference>
}

/**
 * Rebuilds the targets and their upstream closure with the cache bypassed,
 * into a scratch store, and compares every output hash with `pipeline.lock`.
 */
export const verify = (
  project: Project,
  targets: ReadonlyArray<Instance>,
  options: { readonly jobs: number; readonly onEvent: (event: RunEvent) => void; readonly executor?: Executor },
): Effect.Effect<VerifyResult, unknown> =>
  Effect.acquireUseRelease(
    Effect.promise(async () => {
      const dir = await project.store.makeTempDir("verify")
      return { dir, scratch: await project.withStore(dir) }
    }),
    ({ scratch }) =>
      Effect.gen(function* () {
        const lock = project.readLock()
        const result = yield* runPipeline(scratch, {
          targets,
          force: true,
          jobs: options.jobs,
          materialise: false,
          writeLock: false,
          keepGoing: true,
          onEvent: options.onEvent,
          ...(options.executor === undefined ? {} : { executor: options.executor }),
        })
        const differences: Array<VerifyDifference> = []
        for (const [id, outcome] of result.outcomes) {
          const entry = lock.instances[id]
          if (outcome.kind !== "ok") {
            differences.push({ instance: id, problem: outcome.kind === "failed" ? `failed: ${outcome.error}` : "skipped because an upstream instance failed" })
            continue
          }
          if (entry === undefined) {
            differences.push({ instance: id, problem: "has no entry in pipeline.lock to compare with" })
            continue
          }
          for (const name of [...new Set([...Object.keys(entry.outputs), ...Object.keys(outcome.outputs)])].sort()) {
            const expected = entry.outputs[name]
            const actual = outcome.outputs[name]
            if (expected === undefined) differences.push({ instance: id, output: name, problem: `new output ${actual} not in pipeline.lock` })
            else if (actual === undefined) differences.push({ instance: id, output: name, problem: "missing from the rebuild" })
            else if (expected !== actual) differences.push({ instance: id, output: name, problem: `hash ${actual} differs from pipeline.lock ${expected}` })
          }
        }
        return { checked: [...result.outcomes.keys()], differences }
      }),
    ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true })),
  )
