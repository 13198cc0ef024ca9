import { Writable } from "node:stream"
import { describe, expect, it } from "vitest"
import { makeInkRenderer } from "../../src/ui/index.js"
import { finishScript, runningScript } from "./script.js"

/** A writable that looks like an 80×24 terminal and keeps everything written to it. */
class TerminalSink extends Writable {
  readonly isTTY = true
  readonly columns = 80
  readonly rows = 24
  text = ""

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.text += chunk.toString("utf8")
    callback()
  }
}

// CSI sequences (colors, erase line, cursor moves) and the synchronized-update markers.
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g

const count = (text: string, needle: string): number => text.split(needle).length - 1

const runScript = async (noColor: boolean): Promise<string> => {
  const sink = new TerminalSink()
  const renderer = makeInkRenderer({
    stdout: sink as unknown as NodeJS.WriteStream,
    noColor,
    tickMs: 0,
    watchSigint: false,
  })
  for (const event of [...runningScript, ...finishScript]) {
    renderer.onEvent(event)
    await new Promise<void>((resolve) => setImmediate(resolve))
  }
  await renderer.close()
  return sink.text
}

describe("makeInkRenderer", () => {
  it("prints finished instances once", async () => {
    const text = (await runScript(true)).replace(ANSI, "")
    expect(count(text, "✔ split[S2_personalisation]  1.5s")).toBe(1)
    expect(count(text, "✘ train[wpo,S1_age]  failed after 10s")).toBe(1)
    expect(count(text, "✔ train[dpo,S1_age]  30s · outputs unchanged")).toBe(1)
  })

  it("leaves the summary on screen", async () => {
    const text = (await runScript(true)).replace(ANSI, "")
    const last = text.slice(text.lastIndexOf("pipe run compare"))
    expect(last).toContain("✘ Failed after 31s · ran 2 · cached 3 · failed 1 · skipped 1")
    expect(last).toContain("    log: /tmp/project/.pipe/logs/train-wpo-S1.log")
  })

  it("noColor emits no color codes", async () => {
    const text = await runScript(true)
    expect(text).not.toMatch(/\x1b\[(3[0-9]|9[0-7]|1|2)m/)
  })

  it("ignores events after close", async () => {
    const sink = new TerminalSink()
    const renderer = makeInkRenderer({ stdout: sink as unknown as NodeJS.WriteStream, tickMs: 0, watchSigint: false })
    await renderer.close()
    const before = sink.text
    renderer.onEvent(runningScript[0]!)
    await renderer.close()
    expect(sink.text).toBe(before)
  })
})
