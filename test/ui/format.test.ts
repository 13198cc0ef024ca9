import { describe, expect, it } from "vitest"
import {
  formatDuration,
  formatEta,
  formatMetric,
  formatRate,
  progressBar,
  truncateEnd,
  truncateMiddle,
} from "../../src/ui/format.js"

describe("format helpers", () => {
  it("durations by magnitude", () => {
    expect(formatDuration(400)).toBe("0.4s")
    expect(formatDuration(3_140)).toBe("3.1s")
    expect(formatDuration(42_900)).toBe("42s")
    expect(formatDuration(185_000)).toBe("3m05s")
    expect(formatDuration(3_720_000)).toBe("1h02m")
    expect(formatDuration(-5)).toBe("0.0s")
  })

  it("eta in whole seconds", () => {
    expect(formatEta(44_400)).toBe("44s")
    expect(formatEta(185_000)).toBe("3m05s")
  })

  it("rates like tqdm", () => {
    expect(formatRate(4.14)).toBe("4.1 it/s")
    expect(formatRate(250.4)).toBe("250 it/s")
    expect(formatRate(0.4)).toBe("2.5 s/it")
    expect(formatRate(0)).toBe("")
  })

  it("metrics by magnitude", () => {
    expect(formatMetric(0.69314)).toBe("0.693")
    expect(formatMetric(-0.00002)).toBe("-2.0e-5")
    expect(formatMetric(123.456)).toBe("123.5")
    expect(formatMetric(12345.6)).toBe("12346")
    expect(formatMetric(Number.NaN)).toBe("NaN")
  })

  it("bars have exact width", () => {
    expect(progressBar(1, 4, 8)).toBe("██░░░░░░")
    expect(progressBar(9, 4, 4)).toBe("████")
    expect(progressBar(1, 0, 3)).toBe("░░░")
  })

  it("truncation", () => {
    expect(truncateEnd("abcdef", 4)).toBe("abc…")
    expect(truncateEnd("abc", 4)).toBe("abc")
    expect(truncateMiddle("/very/long/path/file.log", 12)).toBe("/very/…e.log")
  })
})
