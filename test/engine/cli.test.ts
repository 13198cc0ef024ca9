import { afterAll, describe, expect, it } from "vitest"
import { createHash } from "node:crypto"
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs"
import { join } from "node:path"
import { cli, makeProject, pipe, pipeAsync, readText, removeProjects, writeText } from "./helpers.js"
import { hashFileUncached } from "../../src/engine/hash.js"

afterAll(removeProjects)

const spec = `params:
  seeds: [42, 456]
  scale: 1
stages:
  gen:
    module: stages/gen.ts
    matrix:
      seed: \${seeds}
    params: [scale]
    outputs: [value.txt]
  slow:
    module: stages/slow.ts
    needs: { values: gen }
    outputs: [big.bin]
`

const gen = `import * as Effect from "effect/Effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
export default {
  run: (ctx: any) => Effect.gen(function* () {
    yield* ctx.log("seed " + ctx.matrix.seed)
    writeFileSync(join(ctx.outDir, "value.txt"), String(Number(ctx.matrix.seed) * Number(ctx.params.scale)))
  }),
}
`

// Writes 64 chunks of 64 KiB; SLOW_MS pauses after each, so a signal lands mid-write.
const slow = `import * as Effect from "effect/Effect"
import { openSync, writeSync, closeSync } from "node:fs"
import { join } from "node:path"
export default {
  run: (ctx: any) => Effect.gen(function* () {
    const fd = openSync(join(ctx.outDir, "big.bin"), "w")
    for (let i = 0; i < 64; i++) {
      writeSync(fd, Buffer.alloc(65536, i))
      yield* ctx.progress({ step: i + 1, total: 64 })
      yield* Effect.sleep(Number(process.env.SLOW_MS ?? 0))
    }
    closeSync(fd)
  }),
}
`

const project = (): string => makeProject({ "pipeline.yaml": spec, "stages/gen.ts": gen, "stages/slow.ts": slow })

/** Processes whose working folder is `dir` (the pipe process and its stage children). */
const processesIn = (dir: string): Array<number> =>
  readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`) === dir
      } catch {
        return false
      }
    })
    .map(Number)

const waitFor = async (condition: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const started = Date.now()
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`)
    await new Promise((done) => setTimeout(done, 50))
  }
}

/** Asserts the store contains no temporary files and every object's content matches its name. */
const expectCleanStore = async (dir: string): Promise<void> => {
  expect(readdirSync(join(dir, "cache/tmp"))).toEqual([])
  for (const shard of readdirSync(join(dir, "cache/objects"))) {
    for (const name of readdirSync(join(dir, "cache/objects", shard))) {
      expect(name.endsWith(".tmp")).toBe(false)
      expect(await hashFileUncached(join(dir, "cache/objects", shard, name))).toBe(shard + name)
    }
  }
  expect(readdirSync(join(dir, "cache/manifests")).filter((name) => name.endsWith(".tmp"))).toEqual([])
}

const lockEntries = (dir: string): Array<string> =>
  Object.keys((JSON.parse(readText(dir, "pipeline.lock")) as { instances: Record<string, unknown> }).instances)

describe("pipe CLI", () => {
  it("stops on SIGINT with exit 130 and resumes on the next run", async () => {
    const dir = project()
    const run = pipeAsync(dir, ["run"], { SLOW_MS: "100" })
    await waitFor(() => run.output().includes("progress  slow"), 60_000, "slow to report progress")
    run.child.kill("SIGINT")
    const result = await run.done
    expect(result.code).toBe(130)
    expect(result.stdout).toContain("stopped   slow (interrupted)")
    expect(result.stdout).toContain("interrupted: 2 ran, 0 cached, 0 failed, 1 skipped")
    expect(processesIn(dir)).toEqual([])
    await expectCleanStore(dir)
    expect(lockEntries(dir)).toEqual(["gen[seed=42]", "gen[seed=456]"])
    const again = await pipe(dir, ["run"])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain("finished: 1 ran, 2 cached, 0 failed, 0 skipped")
    expect(statSync(join(dir, "out/slow/big.bin")).size).toBe(64 * 65536)
  })

  it("exits 143 on SIGTERM", async () => {
    const dir = project()
    const run = pipeAsync(dir, ["run"], { SLOW_MS: "100" })
    await waitFor(() => run.output().includes("progress  slow"), 60_000, "slow to report progress")
    run.child.kill("SIGTERM")
    const result = await run.done
    expect(result.code).toBe(143)
    await expectCleanStore(dir)
  })

  it("recovers from SIGKILL mid-write with a clean store", async () => {
    const dir = project()
    const run = pipeAsync(dir, ["run"], { SLOW_MS: "100" })
    await waitFor(() => run.output().includes("progress  slow"), 60_000, "slow to report progress")
    run.child.kill("SIGKILL")
    await run.done
    // The orphaned stage process notices the closed IPC channel and exits.
    await waitFor(() => processesIn(dir).length === 0, 10_000, "stage processes to exit")
    expect(readdirSync(join(dir, "cache/tmp")).length).toBe(1)
    const again = await pipe(dir, ["run"])
    expect(again.code).toBe(0)
    expect(again.stdout).toContain("finished: 1 ran, 2 cached, 0 failed, 0 skipped")
    await expectCleanStore(dir)
    const digest = createHash("sha256").update(readFileSync(join(dir, "out/slow/big.bin"))).digest("hex")
    expect(digest).toBe(createHash("sha256").update(Buffer.concat(Array.from({ length: 64 }, (_, i) => Buffer.alloc(65536, i)))).digest("hex"))
  })

  it("lets two concurrent runs finish without corrupting store or lock", async () => {
    const dir = project()
    const first = pipeAsync(dir, ["run", "-j", "1"])
    const second = pipeAsync(dir, ["run", "-j", "1"])
    const [a, b] = await Promise.all([first.done, second.done])
    expect(a.stderr).toBe("")
    expect(b.stderr).toBe("")
    expect(a.code).toBe(0)
    expect(b.code).toBe(0)
    expect(lockEntries(dir)).toEqual(["gen[seed=42]", "gen[seed=456]", "slow"])
    await expectCleanStore(dir)
    const status = await pipe(dir, ["status"])
    expect(status.stdout).toBe("3 instances: 3 fresh, 0 stale, 0 waiting on stale upstream\n")
  })

  it("fails --frozen when the lock would change, and explains staleness", async () => {
    const dir = project()
    expect((await cli(dir, ["run"])).code).toBe(0)
    const lock = readText(dir, "pipeline.lock")
    writeText(dir, "pipeline.yaml", spec.replace("scale: 1", "scale: 2"))
    const frozen = await cli(dir, ["run", "--frozen"])
    expect(frozen.code).toBe(3)
    expect(frozen.stderr).toMatch(/^pipe: --frozen: the key of gen\[seed=42\] changed \([0-9a-f]{32} -> [0-9a-f]{32}\)\n$/)
    expect(readText(dir, "pipeline.lock")).toBe(lock)
    const status = await cli(dir, ["status", "--json"])
    expect(status.code).toBe(0)
    const rows = JSON.parse(status.stdout) as Array<{ id: string; state: string; reasons: Array<string> }>
    expect(rows.map((r) => [r.id, r.state, r.reasons])).toEqual([
      ["gen[seed=42]", "stale", ["param scale changed (1 -> 2)"]],
      ["gen[seed=456]", "stale", ["param scale changed (1 -> 2)"]],
      ["slow", "blocked", ["upstream gen[seed=42] is stale", "upstream gen[seed=456] is stale"]],
    ])
  })

  it("removes unreferenced objects with gc and reports bytes with --dry-run", async () => {
    const dir = project()
    expect((await cli(dir, ["run"])).code).toBe(0)
    writeText(dir, "pipeline.yaml", spec.replace("scale: 1", "scale: 3"))
    expect((await cli(dir, ["run"])).code).toBe(0)
    const dry = await cli(dir, ["gc", "--dry-run"])
    expect(dry.code).toBe(0)
    // The old gen outputs "42" and "456" (their logs are unchanged, so still referenced) and
    // the manifests of the two old gen instances and of slow, whose upstream changed.
    expect(dry.stdout).toMatch(/\ngc: would remove 2 objects \(5 bytes\) and 3 manifests\n$/)
    expect(dry.stdout).toContain("(2 bytes)")
    expect(dry.stdout).toContain("(3 bytes)")
    const gc = await cli(dir, ["gc"])
    expect(gc.stdout).toMatch(/\ngc: removed 2 objects \(5 bytes\) and 3 manifests\n$/)
    expect((await cli(dir, ["gc", "--dry-run"])).stdout).toBe("gc: would remove 0 objects (0 bytes) and 0 manifests\n")
    expect((await cli(dir, ["run"])).stdout).toContain("finished: 0 ran, 3 cached")
  })

  it("prints logs, replays them with --verbose and shows the graph", async () => {
    const dir = project()
    expect((await cli(dir, ["run", "gen"])).code).toBe(0)
    expect((await cli(dir, ["log", "gen[seed=456]"])).stdout).toBe("== gen[seed=456]\nseed 456\n")
    const verbose = await cli(dir, ["run", "gen", "--verbose"])
    expect(verbose.stdout).toContain("log       gen[seed=42]: seed 42\ncached    gen[seed=42]\n")
    const graph = await cli(dir, ["graph"])
    expect(graph.stdout).toBe(
      "1 ─ gen   2 instances  seed  ✔ fresh\n2 ─ slow   1 instance        ✘ stale   ← gen\n",
    )
    const mermaid = await cli(dir, ["graph", "--expand", "--format", "mermaid"])
    expect(mermaid.stdout).toBe(
      'flowchart LR\n  n0["gen[seed=42]<br/>fresh"]\n  n1["gen[seed=456]<br/>fresh"]\n  n2["slow<br/>STALE"]\n  n0 -->|values| n2\n  n1 -->|values| n2\n',
    )
    const dot = (await cli(dir, ["graph", "--format", "dot"])).stdout
    expect(dot).toContain('  "gen" -> "slow" [label="values"];\n')
    const json = JSON.parse((await cli(dir, ["graph", "--expand", "--format", "json"])).stdout) as { instances: Array<{ id: string; state: string }> }
    expect(json.instances.map((i) => `${i.id}:${i.state}`)).toEqual(["gen[seed=42]:fresh", "gen[seed=456]:fresh", "slow:stale"])
    const invalidated = await cli(dir, ["invalidate", "--where", "seed=456"])
    expect(invalidated.stdout).toBe(
      "invalidated gen[seed=456]\ninvalidated slow\n2 instances invalidated (1 selected, 1 downstream); 1 cache entries removed\n",
    )
    expect((await cli(dir, ["status", "gen"])).stdout).toBe(
      "stale     gen[seed=456]\n          - cache entry missing (invalidated or removed by gc)\n2 instances: 1 fresh, 1 stale, 0 waiting on stale upstream\n",
    )
  })

  it("answers --help for every command and rejects unknown ones", async () => {
    const dir = project()
    for (const command of ["run", "status", "graph", "invalidate", "verify", "gc", "log", "schema"]) {
      const help = await cli(dir, [command, "--help"])
      expect(help.code).toBe(0)
      expect(help.stdout).toContain(`Usage: pipe ${command}`)
    }
    const unknown = await cli(dir, ["rnu"])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr.split("\n")[0]).toBe('pipe: unknown command "rnu"; did you mean "run"?')
    const badTarget = await cli(dir, ["run", "gne"])
    expect(badTarget.code).toBe(2)
    expect(badTarget.stderr).toBe('pipe: unknown stage "gne"; did you mean "gen"?; stages: gen, slow\n')
    expect(existsSync(join(dir, "pipeline.lock"))).toBe(false)
  })
})
