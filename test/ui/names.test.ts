import { describe, expect, it } from "vitest"
import type { InstanceRef } from "../../src/engine/events.js"
import { InstanceNames } from "../../src/ui/names.js"

const ref = (stage: string, matrix: Record<string, string | number>): InstanceRef => ({
  id: `${stage}[${Object.entries(matrix).map(([key, value]) => `${key}=${value}`).join(",")}]`,
  stage,
  matrix,
})

/** method × split × group × seed, as in the reference study. */
const trainMatrix = (): Array<InstanceRef> => {
  const result: Array<InstanceRef> = []
  for (const method of ["dpo", "wpo"])
    for (const split of ["S1_age", "S2_personalisation", "S3_history_length"])
      for (const group of ["A", "B"])
        for (const seed of [42, 456, 4242])
          result.push(ref("train", { method, split, group, seed }))
  return result
}

describe("InstanceNames", () => {
  it("keeps only varying values", () => {
    const one = ref("eval", { method: "dpo", split: "S1_age", seed: 42 })
    const two = ref("eval", { method: "wpo", split: "S1_age", seed: 42 })
    const names = new InstanceNames([one, two])
    expect(names.short(one, 80)).toBe("dpo")
    expect(names.short(two, 80)).toBe("wpo")
    expect(names.qualified(two, 80)).toBe("eval[wpo]")
  })

  it("single instance has no label", () => {
    const only = ref("compare", {})
    const names = new InstanceNames([only])
    expect(names.short(only, 80)).toBe("")
    expect(names.qualified(only, 80)).toBe("compare")
  })

  it("full values when they fit", () => {
    const instances = trainMatrix()
    const names = new InstanceNames(instances)
    expect(names.short(instances[7]!, 80)).toBe("dpo,S2_personalisation,A,456")
  })

  it("cuts values but keeps them distinct", () => {
    const instances = trainMatrix()
    const names = new InstanceNames(instances)
    for (const width of [24, 18, 14]) {
      const labels = instances.map((instance) => names.short(instance, width))
      for (const label of labels) expect([...label].length).toBeLessThanOrEqual(width)
      expect(new Set(labels).size).toBe(instances.length)
    }
    expect(names.short(instances[7]!, 18)).toBe("dpo,S2_per…,A,456")
    expect(names.short(instances[7]!, 14)).toBe("dpo,S2…,A,456")
  })

  it("keeps a prefix that is itself a value", () => {
    const short = ref("train", { split: "S1" })
    const long = ref("train", { split: "S10_region" })
    const names = new InstanceNames([short, long])
    expect(names.short(short, 4)).toBe("S1")
    expect(names.short(long, 4)).toBe("S10…")
  })

  it("matrix summary counts long lists", () => {
    const names = new InstanceNames(trainMatrix())
    expect(names.matrixSummary("train", 120)).toBe(
      "method dpo|wpo · split S1_age|S2_personalisation|S3_history_length · group A|B · seed 42|456|4242",
    )
    expect(names.matrixSummary("train", 60)).toBe("method dpo|wpo · split ×3 · group A|B · seed 42|456|4242")
    expect(names.matrixSummary("train", 50)).toBe("method dpo|wpo · split ×3 · group A|B · seed ×3")
    expect(names.matrixSummary("train", 41)).toBe("method ×2 · split ×3 · group ×2 · seed ×3")
    expect(names.matrixSummary("train", 30)).toBe("method ×2 · split ×3 · group …")
  })
})
