/**
 * A small, fixed event script for the UI tests: two splits (one cached),
 * four training instances (one fails, one is still running) and an eval
 * instance skipped because its upstream failed.
 */
import type { InstanceRef, RunEvent } from "../../src/engine/events.js"

const ref = (stage: string, matrix: Record<string, string | number>): InstanceRef => {
  const pairs = Object.entries(matrix).map(([key, value]) => `${key}=${value}`)
  return { id: pairs.length === 0 ? stage : `${stage}[${pairs.join(",")}]`, stage, matrix }
}

export const split1 = ref("split", { split: "S1_age" })
export const split2 = ref("split", { split: "S2_personalisation" })
export const trainA = ref("train", { method: "dpo", split: "S1_age", group: "A", seed: 42 })
export const trainB = ref("train", { method: "wpo", split: "S1_age", group: "A", seed: 42 })
export const trainC = ref("train", { method: "dpo", split: "S2_personalisation", group: "A", seed: 42 })
export const trainD = ref("train", { method: "wpo", split: "S2_personalisation", group: "A", seed: 42 })
export const compare = ref("compare", {})

export const T0 = 1_700_000_000_000

export const instances = [split1, split2, trainA, trainB, trainC, trainD, compare]

/** Events up to the moment two training instances run. */
export const runningScript: ReadonlyArray<RunEvent> = [
  { type: "run-started", at: T0, targets: ["compare"], instances, concurrency: 2 },
  { type: "instance-cached", at: T0 + 10, instance: split1, key: "k1" },
  { type: "instance-started", at: T0 + 20, instance: split2, key: "k2", reason: "no cache entry" },
  { type: "instance-queued", at: T0 + 21, instance: trainA },
  { type: "instance-queued", at: T0 + 22, instance: trainB },
  { type: "instance-queued", at: T0 + 23, instance: trainC },
  { type: "instance-queued", at: T0 + 24, instance: trainD },
  { type: "instance-succeeded", at: T0 + 1_520, instance: split2, key: "k2", durationMs: 1_500, unchanged: false },
  { type: "instance-started", at: T0 + 1_600, instance: trainA, key: "k3", reason: "param train.beta changed" },
  { type: "instance-started", at: T0 + 1_600, instance: trainB, key: "k4", reason: "no cache entry" },
  {
    type: "instance-progress",
    at: T0 + 3_600,
    instance: trainA,
    step: 20,
    total: 300,
    phase: "train",
    metrics: { loss: 0.6931, margin: 0.0012, acc: 0.5 },
  },
  {
    type: "instance-progress",
    at: T0 + 11_600,
    instance: trainA,
    step: 100,
    total: 300,
    phase: "train",
    metrics: { loss: 0.512, margin: 0.21, acc: 0.75, w_mean: 0.3101 },
  },
  { type: "instance-log", at: T0 + 11_700, instance: trainB, line: "loaded 512 pairs" },
]

/** Events after `runningScript` up to the end of a run with one failure. */
export const finishScript: ReadonlyArray<RunEvent> = [
  {
    type: "instance-failed",
    at: T0 + 12_000,
    instance: trainB,
    durationMs: 10_400,
    error: "loss is NaN at step 12\n  at train (stages/train.ts:88)",
    logPath: "/tmp/project/.pipe/logs/train-wpo-S1.log",
  },
  { type: "instance-skipped", at: T0 + 12_001, instance: compare, reason: "upstream train[method=wpo,split=S1_age,group=A,seed=42] failed" },
  { type: "instance-succeeded", at: T0 + 31_600, instance: trainA, key: "k3", durationMs: 30_000, unchanged: true },
  { type: "instance-cached", at: T0 + 31_700, instance: trainC, key: "k5" },
  { type: "instance-cached", at: T0 + 31_700, instance: trainD, key: "k6" },
  {
    type: "run-finished",
    at: T0 + 31_800,
    wallMs: 31_800,
    ran: 2,
    cached: 3,
    failed: 1,
    skipped: 1,
    interrupted: false,
    materialised: {},
  },
]
