/**
 * End-to-end: `pipe run` inside a real pseudo-terminal (util-linux `script`,
 * sized 80×24 with `stty`, since `script` alone reports 0 columns), with the
 * screen read back through a small terminal emulator.
 */
import { spawn, spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { emulate, type Screen } from "./terminal.js"

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..")
const COLUMNS = 80
const ROWS = 24

const PIPELINE = `params:
  steps: { fast: 2, slow: SLOW_STEPS }
stages:
  work:
    module: stages/work.ts
    matrix:
      speed: [fast, slow]
    params: ["steps.\${speed}"]
    outputs: [out.txt]
`

const COMPARE_STAGE = `  compare:
    module: stages/work.ts
    needs:
      runs: work
    outputs: [out.txt]
`

// Reports progress every 150 ms, for as many steps as its one param gives.
const STAGE = `import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import { join } from "node:path"

export default {
  run: (ctx) =>
    Effect.gen(function* () {
      const total = Number(Object.values(ctx.params)[0] ?? 3)
      yield* ctx.log("starting " + ctx.instance)
      for (let step = 1; step <= total; step++) {
        yield* Effect.sleep("150 millis")
        yield* ctx.progress({ step, total, phase: "train", metrics: { loss: 1 / step, acc: step / total } })
      }
      writeFileSync(join(ctx.outDir, "out.txt"), ctx.instance + "\\n")
    }),
}
`

/**
 * Writes a project into a fresh temporary folder and returns its path: stage
 * `work` with a fast and a slow instance and, with `withCompare`, a `compare`
 * stage that needs both.
 */
const makeProject = (slowSteps: number, withCompare: boolean): string => {
  const root = mkdtempSync(join(tmpdir(), "pipe-ui-pty-"))
  mkdirSync(join(root, "stages"))
  writeFileSync(join(root, "package.json"), '{ "type": "module" }\n')
  const pipeline = PIPELINE.replace("SLOW_STEPS", String(slowSteps)) + (withCompare ? COMPARE_STAGE : "")
  writeFileSync(join(root, "pipeline.yaml"), pipeline)
  writeFileSync(join(root, "stages", "work.ts"), STAGE)
  // Stage modules import `effect`; resolve it from this repository.
  symlinkSync(join(repoRoot, "node_modules"), join(root, "node_modules"), "dir")
  return root
}

interface PtyRun {
  readonly code: number | null
  readonly output: string
}

/**
 * Runs `pipe ARGS` in a pseudo-terminal of COLUMNS×ROWS. `onOutput` gets the
 * output so far after each chunk and may type into the terminal.
 */
const runInPty = (
  cwd: string,
  args: string,
  onOutput?: (output: string, type: (text: string) => void) => void,
): Promise<PtyRun> =>
  new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, TERM: "xterm-256color" }
    delete env["CI"]
    delete env["CONTINUOUS_INTEGRATION"]
    delete env["NO_COLOR"]
    const command = `stty cols ${COLUMNS} rows ${ROWS}; exec node ${JSON.stringify(join(repoRoot, "bin", "pipe.mjs"))} ${args}`
    const child = spawn("script", ["-qec", command, "/dev/null"], { cwd, env, stdio: ["pipe", "pipe", "pipe"] })
    let output = ""
    let errors = ""
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`pipe ${args} in a pseudo-terminal timed out after 90 s; output so far:\n${output}\n${errors}`))
    }, 90_000)
    child.stdout.setEncoding("utf8")
    child.stdout.on("data", (chunk: string) => {
      output += chunk
      onOutput?.(output, (text) => child.stdin.write(text))
    })
    child.stderr.on("data", (chunk: Buffer) => (errors += chunk.toString("utf8")))
    child.on("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolvePromise({ code, output })
    })
  })

/** Returns the screen after the last complete frame (Ink wraps each frame in synchronized-update marks). */
const screenAtLastFrame = (output: string): Screen => {
  const end = output.lastIndexOf("\x1b[?2026l")
  return emulate(end === -1 ? output : output.slice(0, end), COLUMNS, ROWS)
}

// CSI sequences, to match text that styles split up.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g
const stripAnsi = (text: string): string => text.replace(ANSI, "")

const allLines = (screen: Screen): Array<string> => [...screen.scrollback, ...screen.rows]

const projects: Array<string> = []

beforeAll(() => {
  const probe = spawnSync("script", ["--version"], { encoding: "utf8" })
  if (probe.error !== undefined) {
    throw new Error("the pseudo-terminal tests need `script` from util-linux; install util-linux (apt-get install util-linux)")
  }
})

afterAll(() => {
  for (const root of projects) rmSync(root, { recursive: true, force: true })
})

describe("pipe run in a pseudo-terminal", () => {
  it("draws the live view and summary", async () => {
    const root = makeProject(8, true)
    projects.push(root)
    let midRun: string | undefined
    const run = await runInPty(root, "run -j 2", (output) => {
      if (midRun === undefined && /▶ slow\s.*[1-7]\/8/.test(stripAnsi(output))) midRun = output
    })

    expect(run.code).toBe(0)
    expect(midRun).toBeDefined()
    const live = screenAtLastFrame(midRun!).rows
    expect(live).toContain("stage      total  cached running    done  failed  queued")
    expect(live.some((row) => /^  ▶ slow +[█░]+ +[1-8]\/8/.test(row))).toBe(true)
    expect(live.some((row) => /^      train · loss \d\.\d{3} · acc \d\.\d{3} · /.test(row))).toBe(true)

    const final = allLines(emulate(run.output, COLUMNS, ROWS))
    expect(final.filter((line) => line.startsWith("✔ compare  ")).length).toBe(1)
    expect(final.filter((line) => line.startsWith("✔ work[fast]  ")).length).toBe(1)
    expect(final.filter((line) => line.startsWith("✔ work[slow]  ")).length).toBe(1)
    expect(final.some((line) => /^✔ Done in \S+ · ran 3 · cached 0$/.test(line))).toBe(true)
    expect(final).toContain("Report: out/compare  (compare)")
    // With the size set, Ink redraws by erasing lines, never by clearing the whole screen.
    expect(run.output).not.toContain("\x1b[2J")
  })

  it("Ctrl-C stops and the next run resumes", async () => {
    // Without a downstream stage, so each run takes one round of instances.
    const root = makeProject(60, false)
    projects.push(root)
    let typed = false
    const stopped = await runInPty(root, "run -j 2", (output, type) => {
      const text = stripAnsi(output)
      if (!typed && text.includes("✔ work[fast]") && /▶ slow\s.*\d+\/60/.test(text)) {
        typed = true
        type("\x03")
      }
    })

    expect(typed).toBe(true)
    expect(stopped.code).toBe(130)
    const afterStop = allLines(emulate(stopped.output, COLUMNS, ROWS))
    expect(afterStop).toContain("■ work[slow]  stopped; runs again next time")
    expect(afterStop.some((line) => /^■ Interrupted after \S+ · ran 1 · cached 0 · stopped 1 · not started 0$/.test(line))).toBe(true)
    expect(afterStop).toContain("  Next run resumes: work[slow]")

    const resumed = await runInPty(root, "run -j 2 --set steps.slow=2")
    expect(resumed.code).toBe(0)
    const afterResume = allLines(emulate(resumed.output, COLUMNS, ROWS))
    expect(afterResume.some((line) => /^✔ Done in \S+ · ran 1 · cached 1$/.test(line))).toBe(true)
    expect(afterResume.some((line) => line.startsWith("✔ work[fast]"))).toBe(false)
  })
})
