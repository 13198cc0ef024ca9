import { render } from "ink-testing-library"
import { afterEach, describe, expect, it } from "vitest"
import type { InstanceRef, RunEvent } from "../../src/engine/events.js"
import { LiveView } from "../../src/ui/LiveView.js"
import type { ViewInput } from "../../src/ui/state.js"
import { ViewStore } from "../../src/ui/store.js"
import { compare, finishScript, runningScript, T0, trainA, trainB, trainC, trainD } from "./script.js"

const flush = () => new Promise<void>((resolve) => setImmediate(resolve))

let unmount: (() => void) | undefined
afterEach(() => {
  unmount?.()
  unmount = undefined
})

/** Renders the live view for `inputs` and returns the last frame. */
const frameAfter = async (
  inputs: ReadonlyArray<ViewInput>,
  options: { columns?: number; rows?: number; verbose?: boolean } = {},
): Promise<string> => {
  const store = new ViewStore({ columns: options.columns ?? 80, rows: options.rows ?? 24, verbose: options.verbose ?? false })
  const app = render(<LiveView store={store} noColor={true} />)
  unmount = app.unmount
  for (const input of inputs) store.dispatch(input)
  await flush()
  return app.lastFrame() ?? ""
}

const lines = (...rows: Array<string>): string => rows.join("\n")

describe("live view frames", () => {
  it("shows groups and running instances", async () => {
    const frame = await frameAfter(runningScript)
    expect(frame).toBe(
      lines(
        "✔ split[S2_personalisation]  1.5s",
        "pipe run compare · 7 instances · -j 2 · 11s",
        "stage      total  cached running    done  failed  queued",
        "split          2       1       ·       1       ·       ·",
        "  split S1_age|S2_personalisation",
        "train          4       ·       2       ·       ·       2",
        "  method dpo|wpo · split S1_age|S2_personalisation · group A · seed 42",
        "  ▶ dpo,S1_age             ████████░░░░░░░░░░░░░░░░░ 100/300  10.0 it/s  ETA 20s",
        "      train · loss 0.512 · margin 0.210 · acc 0.750 · w_mean 0.310 · 10s",
        "  ▶ wpo,S1_age             starting · no cache entry · 10s",
        "compare        1       ·       ·       ·       ·       1",
      ),
    )
  })

  it("ends with a failure summary", async () => {
    const frame = await frameAfter([...runningScript, ...finishScript])
    expect(frame).toBe(
      lines(
        "✔ split[S2_personalisation]  1.5s",
        "✘ train[wpo,S1_age]  failed after 10s",
        "  loss is NaN at step 12",
        "  log: /tmp/project/.pipe/logs/train-wpo-S1.log",
        "- compare  skipped: upstream train[method=wpo,split=S1_age,group=A,seed=42] fai…",
        "✔ train[dpo,S1_age]  30s · outputs unchanged",
        "pipe run compare · 7 instances · -j 2 · 31s",
        "stage      total  cached running    done  failed  queued",
        "split          2       1       ·       1       ·       ·",
        "  split S1_age|S2_personalisation",
        "train          4       2       ·       1       1       ·",
        "  method dpo|wpo · split S1_age|S2_personalisation · group A · seed 42",
        "compare        1       ·       ·       ·       ·       ·  1 skipped",
        "✘ Failed after 31s · ran 2 · cached 3 · failed 1 · skipped 1",
        "  ✘ train[wpo,S1_age]: loss is NaN at step 12",
        "    log: /tmp/project/.pipe/logs/train-wpo-S1.log",
      ),
    )
  })

  it("ends with the report path", async () => {
    const succeeded = (instance: typeof trainA, at: number, durationMs = 18_400): RunEvent => ({
      type: "instance-succeeded",
      at,
      instance,
      key: "k",
      durationMs,
      unchanged: false,
    })
    const frame = await frameAfter([
      ...runningScript,
      succeeded(trainA, T0 + 20_000),
      succeeded(trainB, T0 + 20_000),
      { type: "instance-cached", at: T0 + 20_000, instance: trainC, key: "k" },
      { type: "instance-cached", at: T0 + 20_000, instance: trainD, key: "k" },
      succeeded(compare, T0 + 21_000, 900),
      {
        type: "run-finished",
        at: T0 + 21_000,
        wallMs: 21_000,
        ran: 4,
        cached: 3,
        failed: 0,
        skipped: 0,
        interrupted: false,
        materialised: { [compare.id]: "/tmp/project/out/compare" },
      },
    ])
    expect(frame).toBe(
      lines(
        "✔ split[S2_personalisation]  1.5s",
        "✔ train[dpo,S1_age]  18s",
        "✔ train[wpo,S1_age]  18s",
        "✔ compare  0.9s",
        "pipe run compare · 7 instances · -j 2 · 21s",
        "stage      total  cached running    done  failed  queued",
        "split          2       1       ·       1       ·       ·",
        "  split S1_age|S2_personalisation",
        "train          4       2       ·       2       ·       ·",
        "  method dpo|wpo · split S1_age|S2_personalisation · group A · seed 42",
        "compare        1       ·       ·       1       ·       ·",
        "✔ Done in 21s · ran 4 · cached 3",
        "Report: /tmp/project/out/compare  (compare)",
      ),
    )
  })

  it("shows stopping on Ctrl-C", async () => {
    const frame = await frameAfter([...runningScript, { type: "stop-requested", at: T0 + 12_000 }])
    const tail = frame.split("\n").slice(-2)
    expect(tail).toEqual([
      "■ Stopping 2 running instances… finished work stays cached.",
      "  Next run resumes: train[dpo,S1_age], train[wpo,S1_age] and 3 more",
    ])
  })

  it("ends with what resumes after an interrupt", async () => {
    const frame = await frameAfter([
      ...runningScript,
      { type: "stop-requested", at: T0 + 12_000 },
      { type: "instance-interrupted", at: T0 + 12_300, instance: trainA },
      { type: "instance-interrupted", at: T0 + 12_300, instance: trainB },
      {
        type: "run-finished",
        at: T0 + 12_400,
        wallMs: 12_400,
        ran: 1,
        cached: 1,
        failed: 0,
        skipped: 0,
        interrupted: true,
        materialised: {},
      },
    ])
    expect(frame).toBe(
      lines(
        "✔ split[S2_personalisation]  1.5s",
        "■ train[dpo,S1_age]  stopped; runs again next time",
        "■ train[wpo,S1_age]  stopped; runs again next time",
        "pipe run compare · 7 instances · -j 2 · 12s",
        "stage      total  cached running    done  failed  queued",
        "split          2       1       ·       1       ·       ·",
        "  split S1_age|S2_personalisation",
        "train          4       ·       ·       ·       ·       2  2 stopped",
        "  method dpo|wpo · split S1_age|S2_personalisation · group A · seed 42",
        "compare        1       ·       ·       ·       ·       1",
        "■ Interrupted after 12s · ran 1 · cached 1 · stopped 2 · not started 3",
        "  Next run resumes: train[dpo,S1_age], train[wpo,S1_age] and 3 more",
      ),
    )
  })

  it("interrupt without SIGINT notice", async () => {
    const frame = await frameAfter([
      ...runningScript,
      { type: "instance-interrupted", at: T0 + 12_300, instance: trainA },
    ])
    expect(frame).toContain("■ Stopping 2 running instances… finished work stays cached.")
  })

  it("closing mid-stop still summarises", async () => {
    const frame = await frameAfter([
      ...runningScript,
      { type: "stop-requested", at: T0 + 12_000 },
      { type: "instance-interrupted", at: T0 + 12_300, instance: trainA },
      { type: "instance-interrupted", at: T0 + 12_300, instance: trainB },
      { type: "closed", at: T0 + 12_500 },
    ])
    expect(frame.split("\n").slice(-2)).toEqual([
      "■ Interrupted after 12s · ran 1 · cached 1 · stopped 2 · not started 3",
      "  Next run resumes: train[dpo,S1_age], train[wpo,S1_age] and 3 more",
    ])
    expect(frame).not.toContain("Stopping")
  })

  it("verbose prints cache hits and logs", async () => {
    const frame = await frameAfter(runningScript, { verbose: true })
    const staticPart = frame.split("\n").slice(0, 6)
    expect(staticPart).toEqual([
      "○ split[S1_age]  cached",
      "▶ split[S2_personalisation]  started: no cache entry",
      "✔ split[S2_personalisation]  1.5s",
      "▶ train[dpo,S1_age]  started: param train.beta changed",
      "▶ train[wpo,S1_age]  started: no cache entry",
      "│ train[wpo,S1_age] loaded 512 pairs",
    ])
  })

  it("fits 60 columns", async () => {
    const frame = await frameAfter(runningScript, { columns: 60 })
    for (const line of frame.split("\n")) expect([...line].length).toBeLessThanOrEqual(60)
    expect(frame).toContain("  method dpo|wpo · split ×2 · group A · seed 42")
    expect(frame).toContain("  ▶ dpo,S1_age         ███░░░░░░ 100/300  10.0 it/s  ETA 20s")
  })

  it("fits a short terminal", async () => {
    const frame = await frameAfter(runningScript, { rows: 9 })
    expect(frame).toBe(
      lines(
        "✔ split[S2_personalisation]  1.5s",
        "pipe run compare · 7 instances · -j 2 · 11s",
        "stage      total  cached running    done  failed  queued",
        "split          2       1       ·       1       ·       ·",
        "train          4       ·       2       ·       ·       2",
        "  ▶ dpo,S1_age             ████████░░░░░░░░░░░░░░░░░ 100/300  10.0 it/s  ETA 20s",
        "  ▶ wpo,S1_age             starting · no cache entry · 10s",
        "compare        1       ·       ·       ·       ·       1",
      ),
    )
  })

  it("clock ticks advance elapsed times", async () => {
    const frame = await frameAfter([...runningScript, { type: "tick", at: T0 + 75_000 }])
    expect(frame).toContain("pipe run compare · 7 instances · -j 2 · 1m15s")
    expect(frame).toContain("  ▶ wpo,S1_age             starting · no cache entry · 1m13s")
  })

  it("large run fits the screen", async () => {
    const refs: Array<InstanceRef> = []
    for (const stage of ["train", "eval"])
      for (const method of ["dpo", "wpo"])
        for (const split of ["S1_age", "S2_personalisation", "S3_history_length"])
          for (const group of ["A", "B"])
            for (const seed of [42, 456, 123, 999, 4242]) {
              const matrix = { method, split, group, seed }
              refs.push({ id: `${stage}[method=${method},split=${split},group=${group},seed=${seed}]`, stage, matrix })
            }
    const inputs: Array<ViewInput> = [{ type: "run-started", at: T0, targets: ["eval"], instances: refs, concurrency: 30 }]
    for (const instance of refs.slice(0, 30)) {
      inputs.push({ type: "instance-started", at: T0 + 100, instance, key: "k", reason: "no cache entry" })
      inputs.push({ type: "instance-progress", at: T0 + 5_100, instance, step: 50, total: 500, metrics: { loss: 0.6 } })
    }
    const frame = await frameAfter(inputs, { columns: 80, rows: 24 })
    const rows = frame.split("\n")
    expect(rows.length).toBeLessThanOrEqual(23)
    for (const row of rows) expect([...row].length).toBeLessThanOrEqual(80)
    const labels = rows.filter((row) => row.startsWith("  ▶ ")).map((row) => row.slice(4, 28))
    expect(labels.length).toBeGreaterThanOrEqual(4)
    expect(new Set(labels).size).toBe(labels.length)
    expect(rows).toContain(`  … ${30 - labels.length} more running`)
  })
})
