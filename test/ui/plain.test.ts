import { describe, expect, it } from "vitest"
import type { RunEvent } from "../../src/engine/events.js"
import { makePlainRenderer } from "../../src/ui/plain.js"
import { finishScript, runningScript, T0, trainA } from "./script.js"

const collect = (events: ReadonlyArray<RunEvent>, verbose = false): Array<string> => {
  let text = ""
  const renderer = makePlainRenderer({ stdout: { write: (chunk: string) => (text += chunk) }, verbose })
  for (const event of events) renderer.onEvent(event)
  return text.split("\n").slice(0, -1)
}

describe("makePlainRenderer", () => {
  it("one line per event", () => {
    expect(collect([...runningScript, ...finishScript])).toEqual([
      "run compare: 7 instances, -j 2",
      "cached   split[split=S1_age]",
      "start    split[split=S2_personalisation] (no cache entry)",
      "done     split[split=S2_personalisation] in 1.5s",
      "start    train[method=dpo,split=S1_age,group=A,seed=42] (param train.beta changed)",
      "start    train[method=wpo,split=S1_age,group=A,seed=42] (no cache entry)",
      "progress train[method=dpo,split=S1_age,group=A,seed=42] train · 20/300 (6%) · 10.0 it/s · ETA 28s · loss 0.693 · margin 0.001 · acc 0.500",
      "progress train[method=dpo,split=S1_age,group=A,seed=42] train · 100/300 (33%) · 10.0 it/s · ETA 20s · loss 0.512 · margin 0.210 · acc 0.750 · w_mean 0.310",
      "FAILED   train[method=wpo,split=S1_age,group=A,seed=42] after 10s: loss is NaN at step 12",
      "         log: /tmp/project/.pipe/logs/train-wpo-S1.log",
      "skipped  compare: upstream train[method=wpo,split=S1_age,group=A,seed=42] failed",
      "done     train[method=dpo,split=S1_age,group=A,seed=42] in 30s (outputs unchanged)",
      "cached   train[method=dpo,split=S2_personalisation,group=A,seed=42]",
      "cached   train[method=wpo,split=S2_personalisation,group=A,seed=42]",
      "Failed after 31s: ran 2, cached 3, failed 1, skipped 1",
    ])
  })

  it("throttles progress per instance", () => {
    const progress = (offsetMs: number, step: number): RunEvent => ({
      type: "instance-progress",
      at: T0 + offsetMs,
      instance: trainA,
      step,
      total: 100,
    })
    const lines = collect([progress(0, 1), progress(2_000, 2), progress(4_999, 3), progress(5_000, 4), progress(6_000, 5)])
    expect(lines.map((line) => line.split(" ")[2])).toEqual(["1/100", "4/100"])
  })

  it("verbose prints log lines", () => {
    const lines = collect(runningScript, true)
    expect(lines).toContain("log      train[method=wpo,split=S1_age,group=A,seed=42] | loaded 512 pairs")
    expect(collect(runningScript, false).some((line) => line.startsWith("log "))).toBe(false)
  })

  it("contains no escape codes", () => {
    const text = collect([...runningScript, ...finishScript], true).join("\n")
    expect(text).not.toContain("\x1b")
  })
})
