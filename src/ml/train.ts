/**
 * Training loops: DPO / WPO preference training and next-token training,
 * with Adam(W), seeded data order and per-step metrics.
 */
import type * as tfc from "@tensorflow/tfjs-core"
import { type BackendKind, currentBackend } from "./backend.ts"
import { type EncodedPair, type TokenBatch, languageBatch, preferenceBatch } from "./data.ts"
import {
  type PreferenceMethod,
  type PreferenceOptions,
  type PreferenceStats,
  hostTidy,
  languageModelLoss,
  preferenceLoss,
  sequenceLogProbsFromLogits,
} from "./losses.ts"
import type { Model } from "./model.ts"
import { Prng } from "./prng.ts"
import { tf } from "./tf.ts"

export interface AdamOptions {
  readonly lr: number
  readonly beta1?: number
  readonly beta2?: number
  readonly epsilon?: number
  /** Decoupled weight decay (AdamW); default 0, which is plain Adam. */
  readonly weightDecay?: number
}

/**
 * Adam(W) on host copies of the weights, in float64 arithmetic rounded to
 * float32 storage. One update reads each gradient once and writes each
 * weight once, instead of about ten kernel launches per variable.
 */
export class Adam {
  private readonly weights: Float32Array[]
  private readonly m: Float32Array[]
  private readonly v: Float32Array[]
  private step = 0

  constructor(
    private readonly variables: tfc.Variable[],
    private readonly options: AdamOptions,
  ) {
    if (!(options.lr > 0)) throw new Error(`learning rate must be positive, got ${options.lr}`)
    this.weights = variables.map((v) => Float32Array.from(v.dataSync() as Float32Array))
    this.m = variables.map((v) => new Float32Array(v.size))
    this.v = variables.map((v) => new Float32Array(v.size))
  }

  /** Applies one update; `grads` are in the order of the variables. */
  apply(grads: ReadonlyArray<Float32Array>): void {
    this.step++
    const { lr, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0 } = this.options
    const c1 = 1 - Math.pow(beta1, this.step)
    const c2 = 1 - Math.pow(beta2, this.step)
    this.variables.forEach((variable, k) => {
      const w = this.weights[k]!
      const m = this.m[k]!
      const v = this.v[k]!
      const g = grads[k]!
      for (let i = 0; i < w.length; i++) {
        const gi = g[i]!
        const mi = beta1 * m[i]! + (1 - beta1) * gi
        const vi = beta2 * v[i]! + (1 - beta2) * gi * gi
        m[i] = mi
        v[i] = vi
        w[i] = w[i]! - lr * (mi / c1 / (Math.sqrt(vi / c2) + epsilon) + weightDecay * w[i]!)
      }
      const value = tf.tensor(w, variable.shape, "float32")
      variable.assign(value)
      // assign() shares the data, so the temporary tensor object can go.
      value.dispose()
    })
  }
}

/** Runs one forward and backward pass and returns the loss value and host gradients. */
const gradients = (model: Model, ids: tfc.Tensor2D, rows: Int32Array, loss: (logits: tfc.Tensor) => tfc.Scalar) =>
  hostTidy(() => {
  const variables = model.variables()
  const { value, grads } = tf.variableGrads(() => loss(model.forward(ids, rows)), variables)
  const host = variables.map((v) => {
    const g = grads[v.name]
    if (g === undefined) throw new Error(`no gradient for parameter ${v.name}`)
    return g.dataSync() as Float32Array
  })
  const lossValue = value.dataSync()[0]!
  value.dispose()
  for (const g of Object.values(grads)) g.dispose()
  return { loss: lossValue, grads: host }
  })

const idsTensor = (batch: TokenBatch) => tf.tensor2d(batch.ids, [batch.S, batch.T], "int32")

/** Sums response log-probs of each sequence in the batch under `model`, with no gradient. */
export const batchLogProbs = (model: Model, batch: TokenBatch): Float64Array =>
  hostTidy(() => sequenceLogProbsFromLogits(model.forward(idsTensor(batch), batch.rows), batch))

/** Yields batches of indices in a seeded order, reshuffling after each pass over the data. */
export class BatchOrder {
  private readonly prng: Prng
  private order: number[] = []
  private position = 0

  constructor(
    private readonly size: number,
    seed: number,
  ) {
    if (size <= 0) throw new Error("cannot draw batches from an empty data set")
    this.prng = new Prng(seed)
  }

  next(batch: number): number[] {
    const out: number[] = []
    while (out.length < Math.min(batch, this.size)) {
      if (this.position >= this.order.length) {
        this.order = this.prng.shuffle(Array.from({ length: this.size }, (_, i) => i))
        this.position = 0
      }
      out.push(this.order[this.position++]!)
    }
    return out
  }
}

const padIdOf = (model: Model): number => model.tokenizer?.padId ?? 0

export interface StepMetrics {
  /** 1-based step number. */
  readonly step: number
  readonly steps: number
  readonly loss: number
  /** Mean β·Δ over the batch. */
  readonly margin: number
  /** Share of batch pairs with chosen reward strictly above rejected reward. */
  readonly accuracy: number
  readonly chosenReward: number
  readonly rejectedReward: number
  /** Mean clamped WPO pair weight of the batch under the current policy (also for DPO). */
  readonly wpoWeight: number
}

export interface EvalPoint {
  readonly step: number
  readonly prefAcc: number
}

export interface TrainPreferenceOptions {
  readonly policy: Model
  readonly reference: Model
  readonly pairs: ReadonlyArray<EncodedPair>
  readonly method: PreferenceMethod
  readonly beta: number
  readonly lr: number
  readonly batch: number
  readonly steps: number
  readonly seed: number
  /** WPO weight clamp (default 1; Infinity for none). */
  readonly clamp?: number
  readonly weightDecay?: number
  readonly evalPairs?: ReadonlyArray<EncodedPair>
  /** Evaluate pref_acc on `evalPairs` every this many steps (and at step 0 and the last step). */
  readonly evalEvery?: number
  readonly onProgress?: (metrics: StepMetrics) => void
  readonly onEval?: (point: EvalPoint) => void
}

export interface TrainResult {
  readonly backend: BackendKind
  readonly metrics: StepMetrics[]
  /** pref_acc on the eval pairs over training; empty without eval pairs. */
  readonly curve: EvalPoint[]
  readonly seconds: number
}

const mean = (xs: ArrayLike<number>): number => {
  let sum = 0
  for (let i = 0; i < xs.length; i++) sum += xs[i]!
  return xs.length === 0 ? 0 : sum / xs.length
}

const checkFinite = (value: number, what: string, step: number): void => {
  if (!Number.isFinite(value)) {
    throw new Error(
      `training stopped at step ${step}: the ${what} is ${value}; lower the learning rate or check the data for empty or extreme sequences`,
    )
  }
}

/**
 * Trains `policy` in place on preference pairs with DPO or WPO against the
 * frozen `reference`. Reference log-probs are computed with no gradient,
 * once per pair (all pairs up front when the run visits each at least once,
 * otherwise per batch). Same seed, data and backend give byte-identical
 * weights and metrics.
 */
export const trainPreference = (options: TrainPreferenceOptions): TrainResult => {
  const { policy, reference, pairs, method, beta, batch, steps, seed } = options
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`steps must be a non-negative integer, got ${steps}`)
  if (!Number.isInteger(batch) || batch <= 0) throw new Error(`batch must be a positive integer, got ${batch}`)
  const started = performance.now()
  const backend = currentBackend().name
  const adam = new Adam(policy.variables(), { lr: options.lr, weightDecay: options.weightDecay ?? 0 })
  const order = new BatchOrder(pairs.length, seed)
  const padId = padIdOf(policy)
  const metrics: StepMetrics[] = []
  const curve: EvalPoint[] = []
  const evalPairs = options.evalPairs ?? []
  const evalEvery = options.evalEvery ?? 0
  const evalRef = evalPairs.length > 0 ? referenceLogProbs(reference, evalPairs) : undefined
  const evaluate = (step: number) => {
    if (evalRef === undefined) return
    const point = { step, prefAcc: prefAccuracy(policy, evalRef, evalPairs, beta).accuracy }
    curve.push(point)
    options.onEval?.(point)
  }
  evaluate(0)
  // When the run visits every pair at least once, scoring all pairs under the
  // reference up front costs no more than scoring each batch, and repeats are free.
  const refAll = steps * batch >= pairs.length ? referenceLogProbs(reference, pairs) : undefined
  for (let step = 1; step <= steps; step++) {
    const indices = order.next(batch)
    const selected = indices.map((i) => pairs[i]!)
    const tokens = preferenceBatch(selected, padId)
    const ref = refAll
      ? Float64Array.from([...indices.map((i) => refAll.chosen[i]!), ...indices.map((i) => refAll.rejected[i]!)])
      : reference
    const { loss, stats } = preferenceStep(policy, ref, tokens, { method, beta, clamp: options.clamp ?? 1 }, adam)
    checkFinite(loss, `${method} loss`, step)
    const logClamp = Math.log(options.clamp ?? 1)
    const row: StepMetrics = {
      step,
      steps,
      loss,
      margin: mean(stats.margins),
      accuracy: mean(stats.correct),
      chosenReward: mean(stats.chosenRewards),
      rejectedReward: mean(stats.rejectedRewards),
      wpoWeight: mean(Array.from(stats.logWPair, (x) => Math.exp(Math.min(x, logClamp)))),
    }
    metrics.push(row)
    options.onProgress?.(row)
    if (evalEvery > 0 && (step % evalEvery === 0 || step === steps)) evaluate(step)
    else if (step === steps && evalRef !== undefined && evalEvery === 0) evaluate(step)
  }
  return { backend, metrics, curve, seconds: (performance.now() - started) / 1000 }
}

/**
 * Runs one DPO/WPO step on a batch: reference log-probs (from `reference`
 * with no gradient, or precomputed [chosen..., rejected...]), the policy's
 * forward and backward pass, and, when the loss is finite, the Adam update.
 * Returns the loss and the batch statistics.
 */
export const preferenceStep = (
  policy: Model,
  reference: Model | Float64Array,
  tokens: TokenBatch,
  options: PreferenceOptions,
  adam: Adam,
): { loss: number; stats: PreferenceStats } => {
  const ids = idsTensor(tokens)
  try {
    const ref = reference instanceof Float64Array ? reference : hostTidy(() => sequenceLogProbsFromLogits(reference.forward(ids, tokens.rows), tokens))
    const head = preferenceLoss(tokens, ref, options)
    const { loss, grads } = gradients(policy, ids, tokens.rows, head.loss)
    if (Number.isFinite(loss)) adam.apply(grads)
    return { loss, stats: head.stats() }
  } finally {
    ids.dispose()
  }
}

/** Summed response log-probs of each pair under `model`: [chosen..., rejected...] per batch, flattened per pair. */
export interface PairLogProbs {
  readonly chosen: Float64Array
  readonly rejected: Float64Array
}

const evalBatch = 16

/** Computes summed response log-probs of every pair under `model`, with no gradient. */
export const referenceLogProbs = (model: Model, pairs: ReadonlyArray<EncodedPair>): PairLogProbs => {
  const chosen = new Float64Array(pairs.length)
  const rejected = new Float64Array(pairs.length)
  for (let start = 0; start < pairs.length; start += evalBatch) {
    const slice = pairs.slice(start, start + evalBatch)
    const logp = batchLogProbs(model, preferenceBatch(slice, padIdOf(model)))
    for (let i = 0; i < slice.length; i++) {
      chosen[start + i] = logp[i]!
      rejected[start + i] = logp[slice.length + i]!
    }
  }
  return { chosen, rejected }
}

export interface PrefAccuracy {
  /** Share of pairs whose chosen reward is strictly greater (ties count as wrong). */
  readonly accuracy: number
  readonly correct: number
  readonly total: number
  /** β·Δ per pair. */
  readonly margins: Float64Array
}

/**
 * pref_acc of `policy` against `reference` (a model, or its precomputed
 * log-probs for these pairs) on `pairs`.
 */
export const prefAccuracy = (
  policy: Model,
  reference: Model | PairLogProbs,
  pairs: ReadonlyArray<EncodedPair>,
  beta: number,
): PrefAccuracy => {
  if (pairs.length === 0) throw new Error("pref_acc needs at least one pair")
  const ref = "chosen" in reference ? reference : referenceLogProbs(reference, pairs)
  const pol = referenceLogProbs(policy, pairs)
  const margins = new Float64Array(pairs.length)
  let correct = 0
  for (let i = 0; i < pairs.length; i++) {
    const chosenReward = beta * (pol.chosen[i]! - ref.chosen[i]!)
    const rejectedReward = beta * (pol.rejected[i]! - ref.rejected[i]!)
    margins[i] = chosenReward - rejectedReward
    if (chosenReward > rejectedReward) correct++
  }
  return { accuracy: correct / pairs.length, correct, total: pairs.length, margins }
}

export interface PairWeights {
  readonly logWChosen: Float64Array
  readonly logWRejected: Float64Array
  /** log w_c + log w_r, before the clamp. */
  readonly logWPair: Float64Array
  /** exp(min(log W, log clamp)). */
  readonly weights: Float64Array
}

/**
 * WPO weights of pairs under `model` (log space, no gradient): the
 * length-normalised log-ratio of each response and the clamped pair weight.
 */
export const wpoWeights = (model: Model, pairs: ReadonlyArray<EncodedPair>, clamp = 1): PairWeights => {
  const n = pairs.length
  const out = {
    logWChosen: new Float64Array(n),
    logWRejected: new Float64Array(n),
    logWPair: new Float64Array(n),
    weights: new Float64Array(n),
  }
  for (let start = 0; start < n; start += evalBatch) {
    const slice = pairs.slice(start, start + evalBatch)
    const tokens = preferenceBatch(slice, padIdOf(model))
    // The loss head computes the weights in its forward pass; the reference values do not enter them.
    const head = preferenceLoss(tokens, new Float64Array(tokens.S), { method: "wpo", beta: 1, clamp })
    hostTidy(() => head.loss(model.forward(idsTensor(tokens), tokens.rows)))
    const stats = head.stats()
    for (let i = 0; i < slice.length; i++) {
      out.logWChosen[start + i] = stats.logWChosen[i]!
      out.logWRejected[start + i] = stats.logWRejected[i]!
      out.logWPair[start + i] = stats.logWPair[i]!
      out.weights[start + i] = stats.weights[i]!
    }
  }
  return out
}

export interface TrainLanguageModelOptions {
  readonly steps: number
  readonly lr: number
  readonly batch: number
  readonly seed: number
  readonly weightDecay?: number
  readonly onProgress?: (metrics: { step: number; steps: number; loss: number }) => void
}

/**
 * Trains `model` in place on next-token prediction over token sequences
 * (see `encodeTexts`), with Adam(W) and a seeded data order. Returns the
 * loss of each step.
 */
export const trainLanguageModel = (
  model: Model,
  sequences: ReadonlyArray<ReadonlyArray<number>>,
  options: TrainLanguageModelOptions,
): { backend: BackendKind; losses: number[]; seconds: number } => {
  const { steps, batch, seed } = options
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`steps must be a non-negative integer, got ${steps}`)
  if (!Number.isInteger(batch) || batch <= 0) throw new Error(`batch must be a positive integer, got ${batch}`)
  const started = performance.now()
  const adam = new Adam(model.variables(), { lr: options.lr, weightDecay: options.weightDecay ?? 0 })
  const order = new BatchOrder(sequences.length, seed)
  const losses: number[] = []
  for (let step = 1; step <= steps; step++) {
    const tokens = languageBatch(
      order.next(batch).map((i) => sequences[i]!),
      padIdOf(model),
    )
    const ids = idsTensor(tokens)
    let result: { loss: number; grads: Float32Array[] }
    try {
      result = gradients(model, ids, tokens.rows, languageModelLoss(tokens))
    } finally {
      ids.dispose()
    }
    checkFinite(result.loss, "language-model loss", step)
    adam.apply(result.grads)
    losses.push(result.loss)
    options.onProgress?.({ step, steps, loss: result.loss })
  }
  return { backend: currentBackend().name, losses, seconds: (performance.now() - started) / 1000 }
}
