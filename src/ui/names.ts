/**
 * Short instance names for narrow terminals. Within one stage only the matrix
 * keys whose values differ tell instances apart, so labels keep those values
 * (in matrix order) and drop the keys: `train[method=wpo,split=S1_age,seed=42]`
 * becomes `wpo,S1_age,42`. When that is still too wide, each value is cut
 * back, but never below the prefix that keeps it distinct from the other
 * values of the same key.
 */
import type { InstanceRef } from "../engine/events.js"
import type { MatrixValue } from "../engine/stage.js"
import { textWidth, truncateEnd, truncateMiddle } from "./format.js"

interface StageKeys {
  /** Matrix keys in first-seen order with their distinct values in first-seen order. */
  readonly values: Map<string, Array<string>>
}

const valueText = (value: MatrixValue): string => String(value)

/** Returns the shortest prefix length of `value` that no other value in `all` starts with. */
const uniquePrefixLength = (value: string, all: ReadonlyArray<string>): number => {
  const chars = [...value]
  for (let length = 1; length < chars.length; length++) {
    const prefix = chars.slice(0, length).join("")
    if (all.every((other) => other === value || !other.startsWith(prefix))) return length
  }
  return chars.length
}

/**
 * Shows `value` cut to `keep` code points (or to its unique prefix if that is
 * longer) plus `…`; a value that the cut would not shorten stays whole.
 */
const cutValue = (value: string, keep: number, unique: number): string => {
  const chars = [...value]
  const length = Math.max(keep, unique)
  if (chars.length <= length + 1) return value
  return chars.slice(0, length).join("") + "…"
}

/** Builds short labels for the instances of one run. */
export class InstanceNames {
  private readonly stages = new Map<string, StageKeys>()

  constructor(instances: ReadonlyArray<InstanceRef> = []) {
    for (const instance of instances) this.add(instance)
  }

  /** Registers an instance so its stage's varying keys account for it. */
  add(instance: InstanceRef): void {
    let keys = this.stages.get(instance.stage)
    if (keys === undefined) {
      keys = { values: new Map() }
      this.stages.set(instance.stage, keys)
    }
    for (const [key, raw] of Object.entries(instance.matrix)) {
      const value = valueText(raw)
      const seen = keys.values.get(key)
      if (seen === undefined) keys.values.set(key, [value])
      else if (!seen.includes(value)) seen.push(value)
    }
  }

  /** Matrix keys of `stage` whose values differ between its instances. */
  varyingKeys(stage: string): ReadonlyArray<string> {
    const keys = this.stages.get(stage)
    if (keys === undefined) return []
    return [...keys.values.entries()].filter(([, values]) => values.length > 1).map(([key]) => key)
  }

  /**
   * Returns the instance's distinguishing matrix values joined by commas, at
   * most `width` columns wide, or "" when the stage has a single instance.
   */
  short(instance: InstanceRef, width: number): string {
    const keys = this.stages.get(instance.stage)
    if (keys === undefined) return truncateMiddle(instance.id, width)
    const parts: Array<{ value: string; unique: number }> = []
    for (const key of this.varyingKeys(instance.stage)) {
      const raw = instance.matrix[key]
      if (raw === undefined) continue
      const value = valueText(raw)
      parts.push({ value, unique: uniquePrefixLength(value, keys.values.get(key) ?? []) })
    }
    if (parts.length === 0) return ""
    const full = parts.map((part) => part.value).join(",")
    if (textWidth(full) <= width) return full
    // One cut length for the whole stage, so labels of its instances line up.
    const keep = this.stageKeep(instance.stage, width)
    const cut = parts.map((part) => cutValue(part.value, keep, part.unique)).join(",")
    return textWidth(cut) <= width ? cut : truncateMiddle(cut, width)
  }

  /**
   * Returns the largest number of code points per value such that the widest
   * label of the stage, cut that way, fits `width` (0 when none fits).
   */
  private stageKeep(stage: string, width: number): number {
    const keys = this.stages.get(stage)!
    const columns = this.varyingKeys(stage).map((key) => {
      const values = keys.values.get(key) ?? []
      return values.map((value) => ({ value, unique: uniquePrefixLength(value, values) }))
    })
    const widest = (keep: number): number =>
      columns.reduce(
        (sum, values) => sum + Math.max(...values.map((entry) => textWidth(cutValue(entry.value, keep, entry.unique)))),
        columns.length - 1,
      )
    const longest = Math.max(...columns.flat().map((entry) => textWidth(entry.value)))
    for (let keep = longest; keep > 0; keep--) {
      if (widest(keep) <= width) return keep
    }
    return 0
  }

  /** Returns `stage[values]` (or just `stage`) at most `width` columns wide. */
  qualified(instance: InstanceRef, width: number): string {
    const stageWidth = textWidth(instance.stage)
    const inner = this.short(instance, Math.max(1, width - stageWidth - 2))
    if (inner === "") return truncateEnd(instance.stage, width)
    const label = `${instance.stage}[${inner}]`
    return textWidth(label) <= width ? label : truncateMiddle(label, width)
  }

  /**
   * Summarises the stage's matrix, e.g. `method dpo|wpo · split ×3 · seed 42|456`;
   * value lists that do not fit become counts, longest first.
   */
  matrixSummary(stage: string, width: number): string {
    const keys = this.stages.get(stage)
    if (keys === undefined || keys.values.size === 0) return ""
    const entries = [...keys.values.entries()].map(([key, values]) => ({
      key,
      values,
      counted: false,
    }))
    const render = (): string =>
      entries
        .map((entry) =>
          entry.counted ? `${entry.key} ×${entry.values.length}` : `${entry.key} ${entry.values.join("|")}`,
        )
        .join(" · ")
    let text = render()
    while (textWidth(text) > width) {
      const listed = entries.filter((entry) => !entry.counted && entry.values.length > 1)
      if (listed.length === 0) break
      const widest = listed.reduce((best, entry) =>
        textWidth(entry.values.join("|")) > textWidth(best.values.join("|")) ? entry : best,
      )
      widest.counted = true
      text = render()
    }
    return truncateEnd(text, width)
  }
}
