/**
 * Log-probabilities, DPO and WPO on a batch of scored sequences.
 *
 * Conventions (the same as TRL after its shift): row n = s·T + t of the
 * logits [S·T, V] is the distribution for `targets[n]`, and `mask[n]` is 1
 * when that target is a response token. Masked targets are clamped to a
 * valid id so a pad id never indexes out of range. A preference batch holds
 * S = 2B sequences: the B chosen responses, then the B rejected ones, pair i
 * being rows i and B + i.
 *
 * The loss head is one `tf.customGrad`. Its forward pass computes the
 * per-token log-softmax terms, and the small per-sequence algebra runs in
 * float64 JS. The gradient with respect to the logits is the closed form
 * c_s · m_n · (onehot(y_n) − softmax(z_n)), where c_s is the derivative of the
 * loss with respect to sequence s's summed log-prob.
 */
import type * as tfc from "@tensorflow/tfjs-core"
import { useHostCompute } from "./compute-mode.ts"
import { tf } from "./tf.ts"

/** Targets and mask of S sequences of T positions, in host memory. */
export interface ScoredSequences {
  readonly S: number
  readonly T: number
  /** [S·T] target ids, clamped to [0, V) where masked. */
  readonly targets: Int32Array
  /** [S·T] 1 on response targets, 0 on prompt and padding. */
  readonly mask: Float32Array
  /**
   * Positions (s·T + t) that the logits cover, in order, when the model was
   * asked for those rows only (see `Model.forward`); absent when the logits
   * cover all S·T positions.
   */
  readonly rows?: Int32Array
}

/** For each logits row: its position s·T + t. */
const positionsOf = (batch: ScoredSequences): Int32Array =>
  batch.rows ?? Int32Array.from({ length: batch.S * batch.T }, (_, n) => n)

export type PreferenceMethod = "dpo" | "wpo"

export interface PreferenceOptions {
  readonly method: PreferenceMethod
  readonly beta: number
  /**
   * Upper bound of the WPO pair weight: W = exp(min(log w_c + log w_r, log clamp)).
   * Default 1 (the WPO paper's code and TRL before v0.29); Infinity disables it.
   */
  readonly clamp?: number
}

/** Per-pair values of one preference batch (float64, detached from the graph). */
export interface PreferenceStats {
  readonly loss: number
  readonly policyChosen: Float64Array
  readonly policyRejected: Float64Array
  readonly refChosen: Float64Array
  readonly refRejected: Float64Array
  readonly chosenRewards: Float64Array
  readonly rejectedRewards: Float64Array
  /** β·Δ per pair. */
  readonly margins: Float64Array
  /** −log σ(β·Δ) per pair. */
  readonly dpoLosses: Float64Array
  /** 1 when the chosen reward is strictly greater, else 0 (ties count as wrong). */
  readonly correct: Float64Array
  readonly logWChosen: Float64Array
  readonly logWRejected: Float64Array
  /** log W before the clamp. */
  readonly logWPair: Float64Array
  /** The weight used by the loss: 1 for DPO, the clamped WPO weight for WPO. */
  readonly weights: Float64Array
  /** Response token counts per sequence (chosen, then rejected). */
  readonly lengths: Int32Array
}

/** Sum of mask per sequence. */
export const responseLengths = (batch: ScoredSequences): Int32Array => {
  const lengths = new Int32Array(batch.S)
  for (let n = 0; n < batch.S * batch.T; n++) if (batch.mask[n]! > 0) lengths[Math.floor(n / batch.T)]! += 1
  return lengths
}

const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)))
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)))

/** Per-sequence sums of one head evaluation, and what its gradient needs. */
interface HeadResult {
  /** [S] summed response log-probs. */
  readonly seqLogp: Float64Array
  /** [S] summed WPO log-ratios q_t = z[y] + LSE(z) − LSE(2z), or undefined. */
  readonly seqRatio: Float64Array | undefined
  /** Gradient of the loss with respect to the logits, given dLoss/dSeqLogp per sequence and the upstream dy. */
  readonly gradient: (coefficients: Float64Array, dy: tfc.Tensor, logits: tfc.Tensor2D) => tfc.Tensor2D
}

const flatTargetIndex = (batch: ScoredSequences, V: number): Int32Array => {
  const positions = positionsOf(batch)
  return positions.map((n, r) => r * V + batch.targets[n]!)
}

const checkRows = (N: number, batch: ScoredSequences): void => {
  const expected = batch.rows?.length ?? batch.S * batch.T
  if (N !== expected) throw new Error(`logits have ${N} rows, expected ${expected}`)
}

const hostHead = (logits: tfc.Tensor2D, batch: ScoredSequences, withRatio: boolean): HeadResult => {
  const [N, V] = logits.shape
  checkRows(N, batch)
  const z = logits.dataSync() as Float32Array
  const positions = positionsOf(batch)
  const probs = new Float32Array(N * V)
  const seqLogp = new Float64Array(batch.S)
  const seqRatio = withRatio ? new Float64Array(batch.S) : undefined
  for (let r = 0; r < N; r++) {
    const n = positions[r]!
    // Prompt and padding rows contribute nothing to the sums or the gradient.
    if (!(batch.mask[n]! > 0)) continue
    const row = r * V
    let max = -Infinity
    for (let v = 0; v < V; v++) if (z[row + v]! > max) max = z[row + v]!
    let s1 = 0
    let s2 = 0
    for (let v = 0; v < V; v++) {
      const e = Math.exp(z[row + v]! - max)
      probs[row + v] = e
      s1 += e
      s2 += e * e
    }
    const inverse = 1 / s1
    for (let v = 0; v < V; v++) probs[row + v]! *= inverse
    const target = z[row + batch.targets[n]!]!
    const lse = max + Math.log(s1)
    const s = Math.floor(n / batch.T)
    seqLogp[s]! += target - lse
    if (seqRatio) seqRatio[s]! += target + lse - (2 * max + Math.log(s2))
  }
  const gradient = (coefficients: Float64Array, dy: tfc.Tensor): tfc.Tensor2D => {
    const scale = dy.dataSync()[0]!
    const grad = new Float32Array(N * V)
    for (let r = 0; r < N; r++) {
      const n = positions[r]!
      if (!(batch.mask[n]! > 0)) continue
      const c = coefficients[Math.floor(n / batch.T)]! * scale
      if (c === 0) continue
      const row = r * V
      for (let v = 0; v < V; v++) grad[row + v] = -c * probs[row + v]!
      grad[row + batch.targets[n]!] = c * (1 - probs[row + batch.targets[n]!]!)
    }
    return tf.tensor2d(grad, [N, V])
  }
  return { seqLogp, seqRatio, gradient }
}

const tensorHead = (logits: tfc.Tensor2D, batch: ScoredSequences, withRatio: boolean): HeadResult => {
  const [N, V] = logits.shape
  checkRows(N, batch)
  const positions = positionsOf(batch)
  const rowMask = Float32Array.from(positions, (n) => batch.mask[n]!)
  // [S, R] 0/1 matrix that sums rows into their sequences.
  const selection = new Float32Array(batch.S * N)
  positions.forEach((n, r) => (selection[Math.floor(n / batch.T) * N + r] = 1))
  const sumBySequence = (values: tfc.Tensor) => tf.reshape(tf.matMul(tf.tensor2d(selection, [batch.S, N]), tf.reshape(values, [N, 1])), [batch.S])
  const { seqLogp, seqRatio } = tf.tidy(() => {
    const mask = tf.tensor1d(rowMask, "float32")
    const lse = tf.logSumExp(logits, 1)
    const targetLogits = tf.gather(tf.reshape(logits, [N * V]), tf.tensor1d(flatTargetIndex(batch, V), "int32"))
    // Masking by multiplication is safe here: every term is finite when the logits are.
    const tokenLogp = tf.mul(tf.sub(targetLogits, lse), mask)
    const seqLogp = sumBySequence(tokenLogp)
    let seqRatio: tfc.Tensor | undefined
    if (withRatio) {
      const lse2 = tf.logSumExp(tf.mul(logits, tf.scalar(2)), 1)
      const ratio = tf.mul(tf.sub(tf.add(targetLogits, lse), lse2), mask)
      seqRatio = sumBySequence(ratio)
    }
    return seqRatio ? { seqLogp, seqRatio } : { seqLogp }
  })
  const result = {
    seqLogp: Float64Array.from(seqLogp.dataSync()),
    seqRatio: seqRatio ? Float64Array.from(seqRatio.dataSync()) : undefined,
  }
  tf.dispose([seqLogp, seqRatio ?? []].flat())
  const gradient = (coefficients: Float64Array, dy: tfc.Tensor, z: tfc.Tensor2D): tfc.Tensor2D =>
    tf.tidy(() => {
      const lse = tf.logSumExp(z, 1)
      const perRow = Float32Array.from(positions, (n) => coefficients[Math.floor(n / batch.T)]! * batch.mask[n]!)
      const probs = tf.exp(tf.sub(z, tf.reshape(lse, [N, 1])))
      const rowTargets = Int32Array.from(positions, (n) => batch.targets[n]!)
      const onehot = tf.cast(tf.oneHot(tf.tensor1d(rowTargets, "int32"), V), "float32")
      return tf.mul(tf.mul(tf.sub(onehot, probs), tf.tensor2d(perRow, [N, 1])), dy)
    })
  return { ...result, gradient }
}

const head = (logits: tfc.Tensor2D, batch: ScoredSequences, withRatio: boolean): HeadResult =>
  useHostCompute(logits.shape[0] * logits.shape[1], "head") ? hostHead(logits, batch, withRatio) : tensorHead(logits, batch, withRatio)

/**
 * Builds a scalar loss of the summed log-probs with a closed-form gradient.
 * `lossOf` receives the per-sequence sums (float64) and returns the loss value
 * and dLoss/dSeqLogp per sequence, which must treat anything else as constant.
 */
const logProbLoss = (
  batch: ScoredSequences,
  withRatio: boolean,
  lossOf: (seqLogp: Float64Array, seqRatio: Float64Array | undefined) => { loss: number; coefficients: Float64Array },
): ((logits: tfc.Tensor) => tfc.Scalar) =>
  tf.customGrad((...args: unknown[]) => {
    const logits = args[0] as tfc.Tensor2D
    const save = args[1] as tfc.GradSaveFunc
    const result = head(logits, batch, withRatio)
    const { loss, coefficients } = lossOf(result.seqLogp, result.seqRatio)
    save([logits])
    const value = tf.scalar(loss, "float32")
    const gradFunc = (dy: tfc.Tensor, saved: tfc.Tensor[]) => result.gradient(coefficients, dy, saved[0] as tfc.Tensor2D)
    return { value, gradFunc }
  }) as unknown as (logits: tfc.Tensor) => tfc.Scalar

/**
 * Returns the summed response log-prob of each sequence (float64 copies of
 * float32 sums), with no gradient.
 */
export const sequenceLogProbsFromLogits = (logits: tfc.Tensor2D, batch: ScoredSequences): Float64Array =>
  head(logits, batch, false).seqLogp

/** Runs `fn` in a tfjs scope that disposes every tensor it creates, returning host values. */
export const hostTidy = <T>(fn: () => T): T => {
  let out: T | undefined
  tf.tidy(() => {
    out = fn()
  })
  return out as T
}

/** Per-row values of one batch's logits (float64 copies; masked log-probs and ratios are 0). */
export interface TokenStats {
  readonly logp: Float64Array
  /** log Σ_v π(v)² = LSE(2z) − 2·LSE(z), at every position. */
  readonly logSumP2: Float64Array
  /** q_t = log π(y_t) − log Σ_v π(v)². */
  readonly wpoLogRatio: Float64Array
}

/** Computes per-token log-probs and WPO terms, with no gradient. */
export const tokenStats = (logits: tfc.Tensor2D, batch: ScoredSequences): TokenStats =>
  hostTidy(() => {
    const [N, V] = logits.shape
    checkRows(N, batch)
    const mask = tf.tensor1d(Float32Array.from(positionsOf(batch), (n) => batch.mask[n]!), "float32")
    const lse = tf.logSumExp(logits, 1)
    const lse2 = tf.logSumExp(tf.mul(logits, tf.scalar(2)), 1)
    const zt = tf.gather(tf.reshape(logits, [N * V]), tf.tensor1d(flatTargetIndex(batch, V), "int32"))
    const logp = tf.mul(tf.sub(zt, lse), mask)
    const logSumP2 = tf.sub(lse2, tf.mul(lse, tf.scalar(2)))
    const ratio = tf.mul(tf.sub(tf.add(zt, lse), lse2), mask)
    return {
      logp: Float64Array.from(logp.dataSync()),
      logSumP2: Float64Array.from(logSumP2.dataSync()),
      wpoLogRatio: Float64Array.from(ratio.dataSync()),
    }
  })

/**
 * Computes the DPO/WPO statistics of a preference batch from the policy's
 * per-sequence sums (`seqLogp`, and `seqRatio` for WPO) and the reference's
 * summed log-probs. Pure float64 JS; used by the loss and by evaluation.
 */
export const preferenceStats = (
  seqLogp: ArrayLike<number>,
  seqRatio: ArrayLike<number> | undefined,
  refLogp: ArrayLike<number>,
  lengths: Int32Array,
  options: PreferenceOptions,
): PreferenceStats & { coefficients: Float64Array } => {
  const S = seqLogp.length
  if (S % 2 !== 0) throw new Error(`a preference batch needs an even number of sequences, got ${S}`)
  if (refLogp.length !== S) throw new Error(`reference log-probs have ${refLogp.length} entries, expected ${S}`)
  const B = S / 2
  const { beta } = options
  const logClamp = Math.log(options.clamp ?? 1)
  const f = () => new Float64Array(B)
  const [policyChosen, policyRejected, refChosen, refRejected] = [f(), f(), f(), f()]
  const [chosenRewards, rejectedRewards, margins, dpoLosses, correct] = [f(), f(), f(), f(), f()]
  const [logWChosen, logWRejected, logWPair, weights] = [f(), f(), f(), f()]
  const coefficients = new Float64Array(S)
  let loss = 0
  for (let i = 0; i < B; i++) {
    policyChosen[i] = seqLogp[i]!
    policyRejected[i] = seqLogp[B + i]!
    refChosen[i] = refLogp[i]!
    refRejected[i] = refLogp[B + i]!
    const rhoC = policyChosen[i]! - refChosen[i]!
    const rhoR = policyRejected[i]! - refRejected[i]!
    chosenRewards[i] = beta * rhoC
    rejectedRewards[i] = beta * rhoR
    margins[i] = beta * (rhoC - rhoR)
    dpoLosses[i] = softplus(-margins[i]!)
    correct[i] = chosenRewards[i]! > rejectedRewards[i]! ? 1 : 0
    if (seqRatio !== undefined) {
      // log w = mean of q_t over response tokens; an empty response has log w = 0.
      logWChosen[i] = seqRatio[i]! / Math.max(1, lengths[i]!)
      logWRejected[i] = seqRatio[B + i]! / Math.max(1, lengths[B + i]!)
      logWPair[i] = logWChosen[i]! + logWRejected[i]!
    }
    weights[i] = options.method === "wpo" ? Math.exp(Math.min(logWPair[i]!, logClamp)) : 1
    loss += (weights[i]! * dpoLosses[i]!) / B
    const g = (beta / B) * weights[i]! * sigmoid(-margins[i]!)
    coefficients[i] = -g
    coefficients[B + i] = g
  }
  return {
    loss,
    policyChosen,
    policyRejected,
    refChosen,
    refRejected,
    chosenRewards,
    rejectedRewards,
    margins,
    dpoLosses,
    correct,
    logWChosen,
    logWRejected,
    logWPair,
    weights,
    lengths,
    coefficients,
  }
}

/**
 * Builds the DPO or WPO loss of a preference batch as a function of the
 * policy logits [2B·T, V]. The WPO weight comes from the same logits and is
 * a constant in the backward pass. `stats()` returns the values of the last
 * evaluation.
 */
export const preferenceLoss = (
  batch: ScoredSequences,
  refLogp: ArrayLike<number>,
  options: PreferenceOptions,
): { loss: (logits: tfc.Tensor) => tfc.Scalar; stats: () => PreferenceStats } => {
  if (!(options.beta > 0)) throw new Error(`beta must be positive, got ${options.beta}`)
  if (options.clamp !== undefined && !(options.clamp > 0)) throw new Error(`clamp must be positive, got ${options.clamp}`)
  const lengths = responseLengths(batch)
  let last: PreferenceStats | undefined
  const loss = logProbLoss(batch, true, (seqLogp, seqRatio) => {
    const stats = preferenceStats(seqLogp, seqRatio, refLogp, lengths, options)
    last = stats
    return { loss: stats.loss, coefficients: stats.coefficients }
  })
  return {
    loss,
    stats: () => {
      if (last === undefined) throw new Error("the loss has not been evaluated yet")
      return last
    },
  }
}

/**
 * Builds the mean next-token cross-entropy over the masked targets as a
 * function of the logits [S·T, V].
 */
export const languageModelLoss = (batch: ScoredSequences): ((logits: tfc.Tensor) => tfc.Scalar) => {
  let count = 0
  for (const m of batch.mask) count += m
  const scale = 1 / Math.max(1, count)
  return logProbLoss(batch, false, (seqLogp) => {
    let total = 0
    for (const value of seqLogp) total += value
    return { loss: -total * scale, coefficients: new Float64Array(batch.S).fill(-scale) }
  })
}
