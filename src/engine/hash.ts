/**
 * Content hashing for keys and store objects: xxhash128 from hash-wasm, read in
 * 1 MiB chunks, plus a stat cache that skips re-hashing files whose size,
 * mtime, ctime and inode are unchanged since they were last hashed.
 */
import { createXXHash128, type IHasher } from "hash-wasm"
import { closeSync, openSync, readSync, statSync, type BigIntStats } from "node:fs"
import { mkdir, readFile, rename, writeFile } from "node:fs/promises"
import { createRequire } from "node:module"
import { dirname } from "node:path"

const CHUNK_BYTES = 1024 * 1024
let readBuffer: Buffer | undefined

let hasherPromise: Promise<IHasher> | undefined

/** Returns a shared xxhash128 hasher; callers must init, update and digest without awaiting in between. */
export const getHasher = (): Promise<IHasher> => {
  hasherPromise ??= createXXHash128()
  return hasherPromise
}

/** Hashes a string or bytes with xxhash128; the hasher must come from `getHasher`. */
export const hashSync = (hasher: IHasher, data: string | Uint8Array): string => {
  hasher.init()
  hasher.update(data)
  return hasher.digest("hex")
}

export const hashString = async (data: string | Uint8Array): Promise<string> => hashSync(await getHasher(), data)

/**
 * Hashes a file in 1 MiB chunks with synchronous reads, so the shared hasher is
 * never interleaved with another hash.
 */
export const hashFileUncached = async (path: string): Promise<string> => {
  const hasher = await getHasher()
  // One buffer serves every call: the reads below are synchronous, so calls never overlap.
  readBuffer ??= Buffer.allocUnsafe(CHUNK_BYTES)
  const buffer = readBuffer
  const fd = openSync(path, "r")
  try {
    hasher.init()
    for (;;) {
      const n = readSync(fd, buffer, 0, CHUNK_BYTES, null)
      if (n === 0) break
      hasher.update(buffer.subarray(0, n))
    }
    return hasher.digest("hex")
  } finally {
    closeSync(fd)
  }
}

/** Stat fields that identify an unchanged file, as decimal strings of nanoseconds. */
interface StatEntry {
  readonly size: string
  readonly mtime: string
  readonly ctime: string
  readonly ino: string
  readonly hash: string
}

const statSignature = (stats: BigIntStats): Omit<StatEntry, "hash"> => ({
  size: stats.size.toString(),
  mtime: stats.mtimeNs.toString(),
  ctime: stats.ctimeNs.toString(),
  ino: stats.ino.toString(),
})

/**
 * A file whose mtime is this close to the moment it was hashed may still be
 * written to within the same timestamp tick, so its entry is not trusted
 * (the "racily clean" case that git also handles).
 */
const RACY_WINDOW_NS = 100_000_000n

/** Maps absolute paths to their last known hash, persisted as JSON. */
export class StatCache {
  private entries = new Map<string, StatEntry>()
  private dirty = false

  constructor(readonly file: string) {}

  static async load(file: string): Promise<StatCache> {
    const cache = new StatCache(file)
    try {
      const raw = JSON.parse(await readFile(file, "utf8")) as Record<string, [string, string, string, string, string]>
      for (const [path, [size, mtime, ctime, ino, hash]] of Object.entries(raw)) {
        cache.entries.set(path, { size, mtime, ctime, ino, hash })
      }
    } catch {
      // A missing or unreadable stat cache only costs re-hashing.
    }
    return cache
  }

  /** Returns the file's hash, re-hashing only when its stat signature changed. */
  async hashFile(path: string): Promise<string> {
    const before = statSync(path, { bigint: true })
    const signature = statSignature(before)
    const known = this.entries.get(path)
    if (
      known !== undefined &&
      known.size === signature.size &&
      known.mtime === signature.mtime &&
      known.ctime === signature.ctime &&
      known.ino === signature.ino
    ) {
      return known.hash
    }
    const hash = await hashFileUncached(path)
    const wallNs = BigInt(Date.now()) * 1_000_000n
    if (wallNs - before.mtimeNs > RACY_WINDOW_NS) {
      this.entries.set(path, { ...signature, hash })
    } else {
      this.entries.delete(path)
    }
    this.dirty = true
    return hash
  }

  /** Records a hash computed elsewhere, e.g. for an object just written to the store. */
  remember(path: string, hash: string): void {
    const stats = statSync(path, { bigint: true })
    const wallNs = BigInt(Date.now()) * 1_000_000n
    if (wallNs - stats.mtimeNs > RACY_WINDOW_NS) {
      this.entries.set(path, { ...statSignature(stats), hash })
      this.dirty = true
    }
  }

  forget(path: string): void {
    if (this.entries.delete(path)) this.dirty = true
  }

  /** Writes the cache to a temporary file and renames it over the old one. */
  async save(): Promise<void> {
    if (!this.dirty) return
    const out: Record<string, [string, string, string, string, string]> = {}
    for (const [path, e] of this.entries) out[path] = [e.size, e.mtime, e.ctime, e.ino, e.hash]
    await mkdir(dirname(this.file), { recursive: true })
    const tmp = `${this.file}.${process.pid}.tmp`
    await writeFile(tmp, JSON.stringify(out))
    await rename(tmp, this.file)
    this.dirty = false
  }
}

type FastGlob = typeof import("fast-glob")
let fastGlobModule: FastGlob | undefined

/** Loads fast-glob on first use; most runs only name literal files and never need it. */
export const fastGlob = (): FastGlob => {
  fastGlobModule ??= createRequire(import.meta.url)("fast-glob") as FastGlob
  return fastGlobModule
}
