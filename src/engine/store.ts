/**
 * The local content-addressed store under `cache/`:
 *
 *   cache/objects/ab/cdef…   output files and logs, named by xxhash128 of their bytes
 *   cache/manifests/<key>.json   one manifest per instance key, written last
 *   cache/tmp/<pid>-<n>/     scratch folders of running instances
 *   cache/runs/<pid>         markers of live `pipe run` processes (read by gc)
 *   cache/stat-cache.json    path → (size, mtime, ctime, inode, hash)
 *
 * Every write goes to a temporary name in the same file system and is renamed
 * into place, so concurrent or killed writers never leave a partial object or
 * manifest. Two processes that store the same object rename identical bytes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { chmod, copyFile, mkdir, rename, rm, writeFile } from "node:fs/promises"
import { join } from "node:path"
import { StatCache } from "./hash.js"
import type { KeyInputs } from "./keys.js"

export const CACHE_FORMAT = 1

export interface StoredOutput {
  readonly hash: string
  readonly size: number
}

export interface Manifest {
  readonly format: number
  readonly key: string
  readonly instance: string
  readonly stage: string
  /** Everything the key was computed from. */
  readonly inputs: KeyInputs
  /** Output name (relative to the instance's folder) to object, sorted by name. */
  readonly outputs: Readonly<Record<string, StoredOutput>>
  /** Object hash of the instance's log, or null when it wrote nothing. */
  readonly log: string | null
  /** Facts that do not change results, recorded for provenance only. */
  readonly runtime: Readonly<Record<string, string>>
  readonly durationMs: number
  readonly createdAt: string
}

export type ObjectState = "ok" | "missing" | "corrupt"

let tmpCounter = 0

export const isProcessAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Atomically writes `data` to `path` through a temporary file in the same folder. */
export const writeFileAtomic = async (path: string, data: string | Uint8Array, mode?: number): Promise<void> => {
  const tmp = `${path}.${process.pid}.${++tmpCounter}.tmp`
  await writeFile(tmp, data)
  if (mode !== undefined) await chmod(tmp, mode)
  await rename(tmp, path)
}

export class LocalStore {
  readonly objectsDir: string
  readonly manifestsDir: string
  readonly tmpDir: string
  readonly runsDir: string

  private constructor(
    readonly root: string,
    readonly statCache: StatCache,
  ) {
    this.objectsDir = join(root, "objects")
    this.manifestsDir = join(root, "manifests")
    this.tmpDir = join(root, "tmp")
    this.runsDir = join(root, "runs")
  }

  static async open(root: string): Promise<LocalStore> {
    const statCache = await StatCache.load(join(root, "stat-cache.json"))
    const store = new LocalStore(root, statCache)
    for (const dir of [store.objectsDir, store.manifestsDir, store.tmpDir, store.runsDir]) mkdirSync(dir, { recursive: true })
    return store
  }

  objectPath(hash: string): string {
    return join(this.objectsDir, hash.slice(0, 2), hash.slice(2))
  }

  manifestPath(key: string): string {
    return join(this.manifestsDir, `${key}.json`)
  }

  /** Checks an object's presence and content hash (re-hashing only when its stat changed). */
  async verifyObject(hash: string): Promise<ObjectState> {
    const path = this.objectPath(hash)
    if (!existsSync(path)) return "missing"
    const actual = await this.statCache.hashFile(path)
    return actual === hash ? "ok" : "corrupt"
  }

  /**
   * Moves a file whose hash is known into the store. When an object with that
   * hash exists and is intact, the file is dropped; a corrupt one is replaced.
   */
  async putFile(source: string, hash: string): Promise<void> {
    const target = this.objectPath(hash)
    if (existsSync(target) && (await this.verifyObject(hash)) === "ok") {
      await rm(source, { force: true })
      return
    }
    await mkdir(join(this.objectsDir, hash.slice(0, 2)), { recursive: true })
    // Read-only, so a stage that writes to an input (a link to this object) fails instead of corrupting it.
    await chmod(source, 0o444)
    await rename(source, target)
    this.statCache.remember(target, hash)
  }

  /** Stores bytes as an object and returns their hash. */
  async putBytes(data: Uint8Array | string, hash: string): Promise<void> {
    const target = this.objectPath(hash)
    if (existsSync(target) && (await this.verifyObject(hash)) === "ok") return
    await mkdir(join(this.objectsDir, hash.slice(0, 2)), { recursive: true })
    await writeFileAtomic(target, data, 0o444)
    this.statCache.remember(target, hash)
  }

  async readManifest(key: string): Promise<Manifest | undefined> {
    try {
      // Synchronous: for thousands of small manifests, promise-based reads cost several times more.
      const manifest = JSON.parse(readFileSync(this.manifestPath(key), "utf8")) as Manifest
      return manifest.format === CACHE_FORMAT && manifest.key === key ? manifest : undefined
    } catch {
      return undefined
    }
  }

  async writeManifest(manifest: Manifest): Promise<void> {
    await writeFileAtomic(this.manifestPath(manifest.key), `${JSON.stringify(manifest, null, 2)}\n`)
  }

  async removeManifest(key: string): Promise<boolean> {
    const path = this.manifestPath(key)
    if (!existsSync(path)) return false
    await rm(path, { force: true })
    return true
  }

  /** Copies an object (verified when it was looked up) to `target`, as a writable file. */
  async copyObject(hash: string, target: string): Promise<void> {
    await copyFile(this.objectPath(hash), target)
    await chmod(target, 0o644)
  }

  /** Creates a fresh scratch folder owned by this process. */
  async makeTempDir(label: string): Promise<string> {
    const dir = join(this.tmpDir, `${process.pid}-${++tmpCounter}-${label.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 40)}`)
    await rm(dir, { recursive: true, force: true })
    await mkdir(dir, { recursive: true })
    return dir
  }

  /** Removes scratch folders and temporary files left by processes that no longer run. */
  cleanStaleTemp(): Array<string> {
    const removed: Array<string> = []
    for (const name of readdirSync(this.tmpDir)) {
      const pid = Number(name.split("-")[0])
      if (!Number.isInteger(pid) || (pid !== process.pid && !isProcessAlive(pid))) {
        rmSync(join(this.tmpDir, name), { recursive: true, force: true })
        removed.push(name)
      }
    }
    for (const dir of [this.manifestsDir, ...this.objectShards()]) {
      for (const name of readdirSync(dir)) {
        const match = /\.(\d+)\.\d+\.tmp$/.exec(name)
        if (match !== null && !isProcessAlive(Number(match[1]))) {
          rmSync(join(dir, name), { force: true })
          removed.push(name)
        }
      }
    }
    return removed
  }

  objectShards(): Array<string> {
    if (!existsSync(this.objectsDir)) return []
    return readdirSync(this.objectsDir).map((shard) => join(this.objectsDir, shard)).filter((path) => statSync(path).isDirectory())
  }

  /** Lists every object in the store with its hash and size. */
  listObjects(): Array<{ readonly hash: string; readonly size: number; readonly path: string }> {
    const out: Array<{ hash: string; size: number; path: string }> = []
    for (const shard of this.objectShards()) {
      const prefix = shard.slice(shard.length - 2)
      for (const name of readdirSync(shard)) {
        if (name.endsWith(".tmp")) continue
        const path = join(shard, name)
        out.push({ hash: prefix + name, size: statSync(path).size, path })
      }
    }
    return out
  }

  listManifestKeys(): Array<string> {
    return readdirSync(this.manifestsDir)
      .filter((name) => name.endsWith(".json"))
      .map((name) => name.slice(0, -".json".length))
  }

  /** Marks this process as a live run, so `pipe gc` in another process waits for it. */
  markRunning(): () => void {
    const marker = join(this.runsDir, String(process.pid))
    mkdirSync(this.runsDir, { recursive: true })
    rmSync(marker, { force: true })
    writeFileSync(marker, String(process.pid))
    return () => rmSync(marker, { force: true })
  }

  /** Process ids of other live runs on this store. */
  otherLiveRuns(): Array<number> {
    if (!existsSync(this.runsDir)) return []
    return readdirSync(this.runsDir)
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid !== process.pid)
      .filter((pid) => {
        if (isProcessAlive(pid)) return true
        rmSync(join(this.runsDir, String(pid)), { force: true })
        return false
      })
  }

  readLog(hash: string): string {
    return readFileSync(this.objectPath(hash), "utf8")
  }
}
