import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { beforeAll, describe, expect, it } from "vitest"
import { initBackend } from "../../src/ml/backend.ts"
import { setComputeMode } from "../../src/ml/compute-mode.ts"
import {
  type ScoredSequences,
  preferenceLoss,
  sequenceLogProbsFromLogits,
  tokenStats,
} from "../../src/ml/losses.ts"
import type { Tensor } from "@tensorflow/tfjs-core"
import { tf } from "../../src/ml/tf.ts"
import { sharedPath } from "../shared.ts"

type Nested = number[][][]

interface OracleCase {
  beta: number
  policy_chosen_logits: Nested
  policy_rejected_logits: Nested
  chosen_targets: number[][]
  rejected_targets: number[][]
  chosen_loss_mask: number[][]
  rejected_loss_mask: number[][]
  ref_chosen_logps?: number[]
  ref_rejected_logps?: number[]
  ref_chosen_logits?: Nested
  ref_rejected_logits?: Nested
}

const oracleDir = sharedPath("oracle")
const caseNames = readdirSync(oracleDir)
  .filter((name) => name.endsWith(".json") && !name.endsWith(".expected.json"))
  .map((name) => name.replace(/\.json$/, ""))

/** Packs chosen and rejected sequences (possibly of different lengths) into one right-padded batch. */
const pack = (c: OracleCase, chosen: Nested, rejected: Nested) => {
  const B = chosen.length
  const V = chosen[0]![0]!.length
  const T = Math.max(chosen[0]!.length, rejected[0]!.length)
  const S = 2 * B
  const logits = new Float32Array(S * T * V)
  const targets = new Int32Array(S * T)
  const mask = new Float32Array(S * T)
  const sides: [Nested, number[][], number[][]][] = [
    [chosen, c.chosen_targets, c.chosen_loss_mask],
    [rejected, c.rejected_targets, c.rejected_loss_mask],
  ]
  sides.forEach(([z, y, m], side) => {
    for (let i = 0; i < B; i++) {
      const s = side * B + i
      for (let t = 0; t < z[i]!.length; t++) {
        const n = s * T + t
        logits.set(z[i]![t]!, n * V)
        const target = y[i]![t]!
        targets[n] = target >= 0 && target < V ? target : 0
        mask[n] = m[i]![t]!
      }
    }
  })
  const batch: ScoredSequences = { S, T, targets, mask }
  return { batch, logits: tf.tensor2d(logits, [S * T, V]), B, T, V }
}

/** Undoes `pack` for a [S·T] or [S·T, V] array, returning [chosen, rejected] as nested arrays. */
const unpack = (flat: ArrayLike<number>, B: number, T: number, lengths: [number, number], width = 1) => {
  const out: number[][][][] = [[], []]
  for (let side = 0; side < 2; side++) {
    for (let i = 0; i < B; i++) {
      const rows: number[][] = []
      for (let t = 0; t < lengths[side]!; t++) {
        const n = ((side * B + i) * T + t) * width
        rows.push(Array.from({ length: width }, (_, v) => flat[n + v]!))
      }
      out[side]!.push(rows)
    }
  }
  return out
}

const expectClose = (actual: unknown, expected: unknown, path: string): void => {
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual) || ArrayBuffer.isView(actual), `${path} is an array`).toBe(true)
    const a = Array.from(actual as ArrayLike<unknown>)
    expect(a.length, `${path} length`).toBe(expected.length)
    expected.forEach((e, i) => expectClose(a[i], e, `${path}[${i}]`))
    return
  }
  if (typeof expected === "boolean") {
    expect(actual, path).toBe(expected)
    return
  }
  const a = Number(actual)
  const e = Number(expected)
  expect(Number.isFinite(a), `${path} = ${a} is finite`).toBe(true)
  const tolerance = 1e-6 + 1e-4 * Math.abs(e)
  if (Math.abs(a - e) > tolerance) {
    expect.fail(`${path}: got ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > ${tolerance})`)
  }
}

const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((s, x) => s + x, 0) / xs.length

describe("oracle cases", () => {
  beforeAll(async () => {
    await initBackend({ backend: "wasm" })
  })

  it("finds the case files", () => {
    expect(caseNames.length).toBeGreaterThanOrEqual(3)
  })

  for (const [name, mode] of caseNames.flatMap((n) => [[n, "host"], [n, "tensor"]] as const)) {
    it(`matches ${name} (${mode} head)`, () => {
      setComputeMode(mode)
      const before = tf.memory().numTensors
      const c = JSON.parse(readFileSync(join(oracleDir, `${name}.json`), "utf8")) as OracleCase
      const e = JSON.parse(readFileSync(join(oracleDir, `${name}.expected.json`), "utf8"))
      const lengths: [number, number] = [c.chosen_targets[0]!.length, c.rejected_targets[0]!.length]
      const policy = pack(c, c.policy_chosen_logits, c.policy_rejected_logits)
      const { batch, B, T, V } = policy

      let ref: ArrayLike<number>
      if (c.ref_chosen_logits && c.ref_rejected_logits) {
        const refPacked = pack(c, c.ref_chosen_logits, c.ref_rejected_logits)
        ref = sequenceLogProbsFromLogits(refPacked.logits, batch)
        refPacked.logits.dispose()
      } else {
        ref = [...c.ref_chosen_logps!, ...c.ref_rejected_logps!]
      }

      const dpo = preferenceLoss(batch, ref, { method: "dpo", beta: c.beta })
      const dpoGrad = tf.grad(dpo.loss)(policy.logits)
      const s = dpo.stats()
      const wpo = preferenceLoss(batch, ref, { method: "wpo", beta: c.beta })
      const wpoGrad = tf.grad(wpo.loss)(policy.logits)
      const w = wpo.stats()
      const free = preferenceLoss(batch, ref, { method: "wpo", beta: c.beta, clamp: Infinity })
      const freeGrad = tf.grad(free.loss)(policy.logits)
      const u = free.stats()
      const tokens = tokenStats(policy.logits, batch)

      expectClose(s.policyChosen, e.policy_chosen_logps, "policy_chosen_logps")
      expectClose(s.policyRejected, e.policy_rejected_logps, "policy_rejected_logps")
      expectClose(s.refChosen, e.ref_chosen_logps, "ref_chosen_logps")
      expectClose(s.refRejected, e.ref_rejected_logps, "ref_rejected_logps")
      expectClose(s.chosenRewards, e.chosen_rewards, "chosen_rewards")
      expectClose(s.rejectedRewards, e.rejected_rewards, "rejected_rewards")
      expectClose(
        Array.from(s.chosenRewards, (r) => r / c.beta),
        e.chosen_logratios,
        "chosen_logratios",
      )
      expectClose(
        Array.from(s.rejectedRewards, (r) => r / c.beta),
        e.rejected_logratios,
        "rejected_logratios",
      )
      expectClose(s.margins, e.margins, "margins")
      expectClose(s.dpoLosses, e.dpo_per_pair_loss, "dpo_per_pair_loss")
      expectClose(s.loss, e.dpo_loss, "dpo_loss")
      expect(Array.from(s.correct), "accuracy_per_pair").toEqual(e.accuracy_per_pair.map(Number))
      expectClose(mean(s.correct), e.accuracy, "accuracy")
      const ties = Array.from(s.margins).filter((m) => m === 0).length
      expect(ties, "accuracy_ties").toBe(e.accuracy_ties)

      expectClose(w.logWChosen, e.wpo.log_w_chosen, "wpo.log_w_chosen")
      expectClose(w.logWRejected, e.wpo.log_w_rejected, "wpo.log_w_rejected")
      expectClose(Array.from(w.logWChosen, Math.exp), e.wpo.w_chosen, "wpo.w_chosen")
      expectClose(Array.from(w.logWRejected, Math.exp), e.wpo.w_rejected, "wpo.w_rejected")
      expectClose(w.logWPair, e.wpo.log_w_pair, "wpo.log_w_pair")
      expectClose(u.weights, e.wpo.w_pair_unclamped, "wpo.w_pair_unclamped")
      expectClose(Array.from(w.weights, Math.log), e.wpo.log_w_pair_clamped, "wpo.log_w_pair_clamped")
      expectClose(w.weights, e.wpo.w_pair, "wpo.w_pair")
      expect(Array.from(w.logWPair, (x) => x > 0), "wpo.clamp_active").toEqual(e.wpo.clamp_active)
      expectClose(Array.from(w.dpoLosses, (l, i) => l * w.weights[i]!), e.wpo_per_pair_loss, "wpo_per_pair_loss")
      expectClose(w.loss, e.wpo_loss, "wpo_loss")
      expectClose(Array.from(u.dpoLosses, (l, i) => l * u.weights[i]!), e.wpo_unclamped_per_pair_loss, "wpo_unclamped_per_pair_loss")
      expectClose(u.loss, e.wpo_loss_unclamped, "wpo_loss_unclamped")

      expect(Array.from(s.lengths.slice(0, B)), "response_lengths.chosen").toEqual(e.response_lengths.chosen)
      expect(Array.from(s.lengths.slice(B)), "response_lengths.rejected").toEqual(e.response_lengths.rejected)
      expect(Array.from(s.lengths.slice(0, B), (l) => l === 0), "empty_response.chosen").toEqual(e.empty_response.chosen)
      expect(Array.from(s.lengths.slice(B), (l) => l === 0), "empty_response.rejected").toEqual(e.empty_response.rejected)

      const [logpC, logpR] = unpack(tokens.logp, B, T, lengths)
      const [p2C, p2R] = unpack(tokens.logSumP2, B, T, lengths)
      const [qC, qR] = unpack(tokens.wpoLogRatio, B, T, lengths)
      const flat = (x: number[][][]) => x.map((rows) => rows.map((r) => r[0]!))
      expectClose(flat(logpC!), e.per_token.chosen_logp, "per_token.chosen_logp")
      expectClose(flat(logpR!), e.per_token.rejected_logp, "per_token.rejected_logp")
      expectClose(flat(p2C!), e.per_token.chosen_log_sum_p2, "per_token.chosen_log_sum_p2")
      expectClose(flat(p2R!), e.per_token.rejected_log_sum_p2, "per_token.rejected_log_sum_p2")
      expectClose(flat(qC!), e.per_token.chosen_wpo_log_ratio, "per_token.chosen_wpo_log_ratio")
      expectClose(flat(qR!), e.per_token.rejected_wpo_log_ratio, "per_token.rejected_wpo_log_ratio")

      const grads: [string, Tensor][] = [
        ["dpo_loss", dpoGrad],
        ["wpo_loss", wpoGrad],
        ["wpo_loss_unclamped", freeGrad],
      ]
      for (const [key, grad] of grads) {
        const [gc, gr] = unpack(grad.dataSync(), B, T, lengths, V)
        expectClose(gc, e.grad[key].policy_chosen_logits, `grad.${key}.policy_chosen_logits`)
        expectClose(gr, e.grad[key].policy_rejected_logits, `grad.${key}.policy_rejected_logits`)
        grad.dispose()
      }
      policy.logits.dispose()
      expect(tf.memory().numTensors, "tensors left behind").toBe(before)
      setComputeMode("auto")
    })
  }
})

describe("row selection", () => {
  it("gives the same losses and gradients", async () => {
    await initBackend({ backend: "wasm" })
    for (const mode of ["host", "tensor"] as const) {
      setComputeMode(mode)
      const c = JSON.parse(readFileSync(join(oracleDir, "case_seed2.json"), "utf8")) as OracleCase
      const { batch, logits, V } = pack(c, c.policy_chosen_logits, c.policy_rejected_logits)
      const ref = [...c.ref_chosen_logps!, ...c.ref_rejected_logps!]
      const rows = Int32Array.from(Array.from(batch.mask.keys()).filter((n) => batch.mask[n]! > 0))
      const selected = tf.gather(logits, tf.tensor1d(rows, "int32")) as typeof logits
      const full = preferenceLoss(batch, ref, { method: "wpo", beta: c.beta })
      const part = preferenceLoss({ ...batch, rows }, ref, { method: "wpo", beta: c.beta })
      const fullGrad = tf.grad(full.loss)(logits).dataSync()
      const partGrad = tf.grad(part.loss)(selected).dataSync()
      expect(part.stats().loss, mode).toBe(full.stats().loss)
      expect(Array.from(part.stats().weights), mode).toEqual(Array.from(full.stats().weights))
      rows.forEach((n, r) => {
        for (let v = 0; v < V; v++) expect(partGrad[r * V + v], `${mode} row ${n}`).toBeCloseTo(fullGrad[n * V + v]!, 7)
      })
      setComputeMode("auto")
    }
  })
})
