/**
 * Engine benchmarks. It times a no-op `pipe run` on a generated
 * 100-instance pipeline and `pipe status` on a generated 10,000-instance
 * pipeline (wall time and peak RSS). It also measures xxhash128 throughput on
 * a 1 GiB file, first with an empty stat cache and then with a warm one.
 *
 * Run: node --import tsx bench/engine.ts [--keep]
 * Stores are populated in-process with the inline executor, so the set-up
 * does not fork 10,000 processes; the measured commands are real `pipe`
 * processes. Generated projects live under the OS temp folder and are
 * removed at the end unless --keep is given.
 */
import * as Effect from "effect/Effect"
import { spawn } from "node:child_process"
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync, writeSync } from "node:fs"
import { cpus, loadavg, tmpdir, totalmem } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { inlineExecutor } from "../src/engine/executor.js"
import { StatCache, hashFileUncached } from "../src/engine/hash.js"
import { Project } from "../src/engine/project.js"
import { runPipeline } from "../src/engine/runner.js"
import { sinkInstances } from "../src/engine/select.js"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..")
const pipeBin = join(repoRoot, "bin", "pipe.mjs")
const keep = process.argv.includes("--keep")
const scratch: Array<string> = []

const stageModule = (output: string): string => `import * as Effect from "effect/Effect"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
export default {
  run: (ctx: any) => Effect.sync(() => {
    const upstream = Object.values(ctx.inputs).flat().map((u: any) => Object.values(u.files).map((f: any) => readFileSync(f, "utf8")).join(""))
    writeFileSync(join(ctx.outDir, "${output}"), JSON.stringify({ instance: ctx.instance, upstream }))
  }),
}
`

/** Writes a two-stage project: `a` over i, and `b` over i x j needing `a@{i}`. */
const generateProject = (aCount: number, bPerA: number): string => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-bench-"))
  scratch.push(dir)
  symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"))
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n')
  const range = (n: number): string => `[${Array.from({ length: n }, (_, k) => k).join(", ")}]`
  writeFileSync(
    join(dir, "pipeline.yaml"),
    `params:
  is: ${range(aCount)}
  js: ${range(bPerA)}
stages:
  a:
    module: stages/a.ts
    matrix:
      i: \${is}
    outputs: [a.json]
  b:
    module: stages/b.ts
    matrix:
      i: \${is}
      j: \${js}
    needs: { up: "a@{i}" }
    outputs: [b.json]
`,
  )
  mkdirSync(join(dir, "stages"))
  writeFileSync(join(dir, "stages/a.ts"), stageModule("a.json"))
  writeFileSync(join(dir, "stages/b.ts"), stageModule("b.json"))
  return dir
}

const populate = async (dir: string): Promise<number> => {
  const started = performance.now()
  const project = await Project.open({ file: join(dir, "pipeline.yaml") })
  const result = await Effect.runPromise(
    runPipeline(project, { targets: sinkInstances(project.plan), jobs: 8, executor: inlineExecutor, materialise: false, onEvent: () => {} }),
  )
  if (result.failed > 0) throw new Error(`populating ${dir} failed`)
  return performance.now() - started
}

interface Measured {
  readonly wallMs: number
  /** Peak resident set size in MiB, from /proc/PID/status VmHWM (Linux only). */
  readonly peakMiB: number | undefined
  readonly code: number | null
  readonly stdout: string
}

/** Runs `pipe ARGS` in `dir`, sampling its peak RSS until it exits. */
const measurePipe = (dir: string, args: ReadonlyArray<string>): Promise<Measured> =>
  new Promise((done) => {
    const started = performance.now()
    const child = spawn(process.execPath, [pipeBin, ...args], { cwd: dir, env: { ...process.env, CI: "1" }, stdio: ["ignore", "pipe", "inherit"] })
    let stdout = ""
    let peakKiB: number | undefined
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    const sample = (): void => {
      try {
        const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))
        if (match !== null) peakKiB = Math.max(peakKiB ?? 0, Number(match[1]))
      } catch {
        // The process has exited or /proc is not available.
      }
    }
    const timer = setInterval(sample, 5)
    child.on("exit", () => {
      sample()
      clearInterval(timer)
    })
    child.on("close", (code) =>
      done({ wallMs: performance.now() - started, peakMiB: peakKiB === undefined ? undefined : peakKiB / 1024, code, stdout }),
    )
  })

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const fmt = (ms: number): string => `${ms.toFixed(0)} ms`

const benchNoOp = async (): Promise<void> => {
  const dir = generateProject(50, 1)
  const setupMs = await populate(dir)
  // One real run writes pipeline.lock, the stat cache and the module records.
  const warm = await measurePipe(dir, ["run"])
  if (!warm.stdout.includes("0 ran, 100 cached")) throw new Error(`expected a fully cached run, got:\n${warm.stdout}`)
  const runs: Array<Measured> = []
  for (let k = 0; k < 7; k++) runs.push(await measurePipe(dir, ["run"]))
  const walls = runs.map((r) => r.wallMs)
  console.log(`no-op pipe run, 100 instances (store populated in ${fmt(setupMs)}):`)
  console.log(`  wall: median ${fmt(median(walls))}, min ${fmt(Math.min(...walls))}, max ${fmt(Math.max(...walls))} over ${runs.length} runs (target < 300 ms)`)
  console.log(`  peak RSS: ${median(runs.map((r) => r.peakMiB ?? NaN)).toFixed(0)} MiB`)
}

const benchStatus = async (): Promise<void> => {
  const dir = generateProject(100, 99)
  const setupMs = await populate(dir)
  const warm = await measurePipe(dir, ["status"])
  if (!warm.stdout.startsWith("10000 instances: 10000 fresh")) throw new Error(`unexpected status output:\n${warm.stdout.slice(0, 500)}`)
  const runs: Array<Measured> = []
  for (let k = 0; k < 3; k++) runs.push(await measurePipe(dir, ["status"]))
  console.log(`pipe status, 10,000 fresh instances (store populated in ${(setupMs / 1000).toFixed(1)} s):`)
  console.log(`  wall: median ${fmt(median(runs.map((r) => r.wallMs)))}, min ${fmt(Math.min(...runs.map((r) => r.wallMs)))} (target < 2000 ms)`)
  console.log(`  peak RSS: max ${Math.max(...runs.map((r) => r.peakMiB ?? NaN)).toFixed(0)} MiB (target < 400 MB)`)
}

const benchHashing = async (): Promise<void> => {
  const dir = mkdtempSync(join(tmpdir(), "pipe-bench-hash-"))
  scratch.push(dir)
  const path = join(dir, "one-gib.bin")
  // A deterministic xorshift32 pattern, 16 MiB written 64 times.
  const block = Buffer.alloc(16 * 1024 * 1024)
  let state = 0x9e3779b9
  for (let k = 0; k < block.length; k += 4) {
    state ^= state << 13
    state ^= state >>> 17
    state ^= state << 5
    block.writeUInt32LE(state >>> 0, k)
  }

  const fd = openSync(path, "w")
  for (let k = 0; k < 64; k++) writeSync(fd, block)
  closeSync(fd)

  // An old mtime, as for a dataset that sits on disk, so the stat cache may trust its entry.
  const old = new Date(Date.now() - 3_600_000)
  utimesSync(path, old, old)
  const gib = 1024 ** 3
  const uncached: Array<number> = []
  for (let k = 0; k < 2; k++) {
    const t0 = performance.now()
    await hashFileUncached(path)
    uncached.push(performance.now() - t0)
  }

  const cache = await StatCache.load(join(dir, "stat-cache.json"))
  const t1 = performance.now()
  const first = await cache.hashFile(path)
  const firstMs = performance.now() - t1
  const warm: Array<number> = []
  for (let k = 0; k < 5; k++) {
    const t2 = performance.now()
    const again = await cache.hashFile(path)
    warm.push(performance.now() - t2)
    if (again !== first) throw new Error("stat cache returned another hash")
  }
  const warmMs = median(warm)
  console.log("xxhash128 of a 1 GiB file (page cache warm after writing it):")
  console.log(`  re-hash without stat cache: ${uncached.map((ms) => `${(gib / 1e9 / (ms / 1000)).toFixed(2)} GB/s`).join(", ")} (target >= 2 GB/s)`)
  console.log(`  first hash through the stat cache: ${fmt(firstMs)} (${(gib / 1e9 / (firstMs / 1000)).toFixed(2)} GB/s)`)
  console.log(`  warm stat cache: ${warmMs.toFixed(3)} ms, ${(median(uncached) / warmMs).toFixed(0)}x faster than re-hashing (target >= 50x)`)
}

const main = async (): Promise<void> => {
  const cpu = cpus()[0]
  console.log(`machine: ${cpu?.model ?? "unknown CPU"}, ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB RAM, Node ${process.version}, ${process.platform}/${process.arch}`)
  console.log(`load average at start: ${loadavg().map((v) => v.toFixed(2)).join(" ")}`)
  try {
    await benchNoOp()
    await benchStatus()
    await benchHashing()
  } finally {
    if (!keep) for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
    else console.log(`kept: ${scratch.join(" ")}`)
  }
  console.log(`load average at end: ${loadavg().map((v) => v.toFixed(2)).join(" ")}`)
}

await main()
