/**
 * `pipeline.lock`: per instance, the key and output hashes of its last
 * successful build. Written sorted with two-space indentation and no
 * timestamps, so re-runs leave it byte-identical and edits diff line by line.
 * Updates are read-merge-write under an exclusive lock file, so concurrent
 * `pipe` processes never lose each other's entries.
 */
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { EngineError } from "./errors.js"
import { isProcessAlive, writeFileAtomic } from "./store.js"

export const LOCK_VERSION = 1

export interface LockEntry {
  readonly key: string
  readonly outputs: Readonly<Record<string, string>>
}

export interface LockFile {
  readonly version: number
  readonly instances: Readonly<Record<string, LockEntry>>
}

export const emptyLock = (): LockFile => ({ version: LOCK_VERSION, instances: {} })

export const readLock = (path: string): LockFile => {
  if (!existsSync(path)) return emptyLock()
  let parsed: LockFile
  try {
    parsed = JSON.parse(readFileSync(path, "utf8")) as LockFile
  } catch (cause) {
    throw new EngineError({ message: `${path} is not valid JSON (${String(cause)}); restore it from version control or delete it to rebuild it`, cause })
  }
  if (parsed.version !== LOCK_VERSION || typeof parsed.instances !== "object" || parsed.instances === null) {
    throw new EngineError({ message: `${path} has unsupported version ${String(parsed.version)}; expected version ${LOCK_VERSION}` })
  }
  return parsed
}

const sortRecord = <T>(record: Readonly<Record<string, T>>): Record<string, T> =>
  Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]!]))

export const serializeLock = (lock: LockFile): string => {
  const instances: Record<string, LockEntry> = {}
  for (const id of Object.keys(lock.instances).sort()) {
    const entry = lock.instances[id]!
    instances[id] = { key: entry.key, outputs: sortRecord(entry.outputs) }
  }
  return `${JSON.stringify({ version: LOCK_VERSION, instances }, null, 2)}\n`
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms))

/**
 * Runs `body` while holding an exclusive lock file (created with O_EXCL,
 * holding the owner's pid). A lock whose owner process is gone is taken over.
 */
export const withFileLock = async <A>(lockPath: string, body: () => Promise<A>, timeoutMs = 60_000): Promise<A> => {
  const started = Date.now()
  for (;;) {
    try {
      const fd = openSync(lockPath, "wx")
      writeSync(fd, String(process.pid))
      closeSync(fd)
      break
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
      let owner = NaN
      try {
        owner = Number(readFileSync(lockPath, "utf8"))
      } catch {
        continue
      }
      if (Number.isInteger(owner) && owner > 0 && !isProcessAlive(owner)) {
        rmSync(lockPath, { force: true })
        continue
      }
      if (Date.now() - started > timeoutMs) {
        throw new EngineError({ message: `timed out after ${timeoutMs} ms waiting for ${lockPath}, held by process ${owner}; if that process is gone, delete the file` })
      }
      await sleep(20)
    }
  }
  try {
    return await body()
  } finally {
    rmSync(lockPath, { force: true })
  }
}

/**
 * Merges entries into the lock on disk: `set` replaces entries, `remove`
 * drops them, `keep` (when given) drops every instance not in it, and
 * `keepStages` (when given) drops every instance of a stage not in it.
 */
export const updateLock = async (
  path: string,
  change: {
    readonly set?: Readonly<Record<string, LockEntry>>
    readonly remove?: ReadonlyArray<string>
    readonly keep?: ReadonlySet<string>
    readonly keepStages?: ReadonlySet<string>
  },
): Promise<LockFile> =>
  withFileLock(`${path}.writing`, async () => {
    const current = readLock(path)
    const instances: Record<string, LockEntry> = { ...current.instances, ...change.set }
    for (const id of change.remove ?? []) delete instances[id]
    if (change.keep !== undefined) for (const id of Object.keys(instances)) if (!change.keep.has(id)) delete instances[id]
    if (change.keepStages !== undefined) {
      // Instance ids read `stage[...]` or `stage`.
      for (const id of Object.keys(instances)) if (!change.keepStages.has(id.replace(/\[.*$/, ""))) delete instances[id]
    }
    const next: LockFile = { version: LOCK_VERSION, instances }
    const text = serializeLock(next)
    const before = existsSync(path) ? readFileSync(path, "utf8") : undefined
    if (before !== text) await writeFileAtomic(path, text)
    return next
  })
