/**
 * One preference-training run from the reference policy, shared by the
 * `train` and `baseline-eval` stages so both train exactly the same way.
 */
import { Effect } from "effect"
import type { PreferencePair } from "../../src/data/index.js"
import type { StageContext, StageError } from "../../src/engine/stage.js"
import { encodePairs } from "../../src/ml/data.js"
import type { Model } from "../../src/ml/model.js"
import { trainPreference, type TrainResult } from "../../src/ml/train.js"
import { attempt } from "./effect.js"
import { loadReference, startBackend } from "./models.js"
import { numberParam } from "./params.js"

export const METHODS = ["dpo", "wpo"] as const
export type Method = (typeof METHODS)[number]

export const parseMethod = (value: unknown): Method => {
  if (value === "dpo" || value === "wpo") return value
  throw new Error(`unknown method ${JSON.stringify(value)} in the matrix; methods must be dpo or wpo`)
}

/**
 * Reads the instance's method and seed, starts the backend its key was
 * computed for and loads the frozen reference policy: the common start of
 * `train` and `baseline-eval`.
 */
export const prepareTraining = (
  ctx: StageContext,
): Effect.Effect<{ readonly method: Method; readonly seed: number; readonly reference: Model }, StageError> =>
  Effect.gen(function* () {
    const method = yield* attempt(() => parseMethod(ctx.matrix["method"]))
    const seed = Number(ctx.matrix["seed"])
    yield* attempt(() => startBackend(ctx.facts))
    const { model: reference } = yield* attempt(() => loadReference(ctx.inputs, { trainable: false }))
    return { method, seed, reference }
  })

export interface TrainingRun {
  readonly policy: Model
  readonly result: TrainResult
  /** Pairs that lost tokens to `model.max_length`, in the train and eval sets. */
  readonly truncated: { readonly train: number; readonly eval: number }
}

/** Effective context: `model.max_length`, capped by what the model supports. */
export const contextLength = (ctx: StageContext, model: Model): number =>
  Math.min(numberParam(ctx.params, "model.max_length", { integer: true, min: 2 }), model.config.maxLength)

/**
 * Trains a copy of `reference` on `trainPairs` with DPO or WPO (`train.*`
 * params), recording pref_acc on `evalPairs` every `eval.every` steps.
 */
export const trainFromReference = (
  ctx: StageContext,
  reference: Model,
  trainPairs: ReadonlyArray<PreferencePair>,
  evalPairs: ReadonlyArray<PreferencePair>,
  method: Method,
  seed: number,
): TrainingRun => {
  if (trainPairs.length === 0) throw new Error(`${ctx.instance}: no training pairs; check the split's group sizes`)
  const tokenizer = reference.tokenizer!
  const maxLength = contextLength(ctx, reference)
  const train = encodePairs(tokenizer, trainPairs, maxLength)
  const evaluation = encodePairs(tokenizer, evalPairs, maxLength)
  const policy = reference.clone({ trainable: true })
  const steps = numberParam(ctx.params, "train.steps", { integer: true, min: 0 })
  let lastEval: number | undefined
  const result = trainPreference({
    policy,
    reference,
    pairs: train.pairs,
    method,
    beta: numberParam(ctx.params, "train.beta", { above: 0 }),
    lr: numberParam(ctx.params, "train.lr", { above: 0 }),
    batch: numberParam(ctx.params, "train.batch", { integer: true, min: 1 }),
    steps,
    seed,
    clamp: ctx.params["train.clamp"] === null ? Infinity : numberParam(ctx.params, "train.clamp", { above: 0 }),
    evalPairs: evaluation.pairs,
    evalEvery: numberParam(ctx.params, "eval.every", { integer: true, min: 0 }),
    onEval: (point) => {
      lastEval = point.prefAcc
    },
    onProgress: (m) => {
      const metrics: Record<string, number> = { loss: m.loss, margin: m.margin, acc: m.accuracy, w: m.wpoWeight }
      if (lastEval !== undefined) metrics["eval_acc"] = lastEval
      Effect.runSync(ctx.progress({ step: m.step, total: m.steps, phase: method, metrics }))
    },
  })
  return { policy, result, truncated: { train: train.truncated, eval: evaluation.truncated } }
}

/** Builds the metrics file of a training run: per-step series, the learning curve and run facts. */
export const trainingMetrics = (run: TrainingRun, extra: Record<string, unknown>): Record<string, unknown> => {
  const m = run.result.metrics
  return {
    ...extra,
    backend: run.result.backend,
    steps: m.length,
    truncated: run.truncated,
    final: m.length > 0 ? m[m.length - 1] : null,
    series: {
      loss: m.map((x) => x.loss),
      margin: m.map((x) => x.margin),
      accuracy: m.map((x) => x.accuracy),
      wpo_weight: m.map((x) => x.wpoWeight),
    },
    curve: run.result.curve,
  }
}
