/**
 * Text drawings of the stage graph for `pipe graph`: a layered view (each
 * stage once, in dependency layers, with what it needs) and a dependency tree
 * from the final stages down (like `cargo tree`, repeats marked `(*)`). Both
 * show instance counts and stale/fresh marks, and optionally each instance.
 */
import type { GraphModel as EngineGraphModel } from "../engine/graph.js"
import { padEnd, padStart, textWidth, truncateEnd } from "./format.js"

export interface GraphInstance {
  /** Readable instance name, e.g. `train[method=dpo,seed=42]`. */
  readonly name: string
  readonly stale: boolean
  /** Waits on a stale upstream instance, so its own key is not known yet. */
  readonly blocked?: boolean
  /** Reason a stale or blocked instance must run, e.g. `param train.beta changed`. */
  readonly reason?: string
}

export interface GraphStage {
  readonly name: string
  /** Number of matrix instances. */
  readonly instances: number
  readonly stale: number
  readonly fresh: number
  /** Instances that wait on a stale upstream (0 when absent). */
  readonly blocked?: number
  /** Names of the stages this one reads from. */
  readonly needs: ReadonlyArray<string>
  /** Matrix keys, e.g. `["method", "split", "seed"]`, drawn as `method×split×seed`. */
  readonly axes?: ReadonlyArray<string>
  /** Per-instance detail, drawn when `expand` is set. */
  readonly instanceList?: ReadonlyArray<GraphInstance>
}

export interface GraphModel {
  readonly stages: ReadonlyArray<GraphStage>
}

export interface RenderGraphOptions {
  /** `layers` (default) or `tree`. */
  readonly style?: "layers" | "tree"
  /** Also list every instance under its stage. */
  readonly expand?: boolean
  /** Maximum line width; default 80. */
  readonly columns?: number
  /** Use only ASCII characters (no box drawing or check marks). */
  readonly ascii?: boolean
}

interface Glyphs {
  readonly fresh: string
  readonly stale: string
  readonly blocked: string
  readonly branch: string
  readonly last: string
  readonly pipe: string
  readonly arrow: string
  /** Layer connectors: the only stage, the first, a middle and the last stage of a layer. */
  readonly only: string
  readonly first: string
  readonly middle: string
  readonly end: string
  readonly separator: string
}

const UNICODE: Glyphs = {
  fresh: "✔",
  stale: "✘",
  blocked: "◌",
  branch: "├─ ",
  last: "└─ ",
  pipe: "│  ",
  arrow: "←",
  only: "─ ",
  first: "┬ ",
  middle: "├ ",
  end: "└ ",
  separator: " · ",
}
const ASCII: Glyphs = {
  fresh: "+",
  stale: "x",
  blocked: "~",
  branch: "|- ",
  last: "`- ",
  pipe: "|  ",
  arrow: "<-",
  only: "- ",
  first: "+ ",
  middle: "| ",
  end: "` ",
  separator: ", ",
}

/**
 * Returns the stage's state mark: `✔ fresh`, `✘ stale`, or the counts when
 * they differ, e.g. `✘ 4 stale · 2 blocked · 20 fresh`.
 */
const stateMark = (stage: GraphStage, glyphs: Glyphs): string => {
  const blocked = stage.blocked ?? 0
  if (stage.stale === 0 && blocked === 0) return `${glyphs.fresh} fresh`
  if (stage.fresh === 0 && blocked === 0) return `${glyphs.stale} stale`
  if (stage.fresh === 0 && stage.stale === 0) return `${glyphs.blocked} blocked`
  const parts: Array<string> = []
  if (stage.stale > 0) parts.push(`${stage.stale} stale`)
  if (blocked > 0) parts.push(`${blocked} blocked`)
  if (stage.fresh > 0) parts.push(`${stage.fresh} fresh`)
  return `${stage.stale > 0 ? glyphs.stale : glyphs.blocked} ${parts.join(glyphs.separator)}`
}

const instanceCount = (stage: GraphStage): string =>
  `${stage.instances} ${stage.instances === 1 ? "instance" : "instances"}`

/** Checks that every need names a stage and that there is no cycle; throws naming the culprit. */
const indexStages = (model: GraphModel): Map<string, GraphStage> => {
  const byName = new Map<string, GraphStage>()
  for (const stage of model.stages) {
    if (byName.has(stage.name)) throw new Error(`graph: stage "${stage.name}" is listed twice`)
    byName.set(stage.name, stage)
  }
  for (const stage of model.stages) {
    for (const need of stage.needs) {
      if (!byName.has(need)) {
        throw new Error(`graph: stage "${stage.name}" needs "${need}", which is not a stage of the graph`)
      }
    }
  }
  return byName
}

/** Layer of each stage: 0 without needs, else one more than its deepest need. */
const computeLayers = (byName: ReadonlyMap<string, GraphStage>): Map<string, number> => {
  const layers = new Map<string, number>()
  const visiting = new Set<string>()
  const visit = (name: string, path: ReadonlyArray<string>): number => {
    const known = layers.get(name)
    if (known !== undefined) return known
    if (visiting.has(name)) throw new Error(`graph: stages form a cycle: ${[...path, name].join(" → ")}`)
    visiting.add(name)
    const stage = byName.get(name)!
    let layer = 0
    for (const need of stage.needs) layer = Math.max(layer, visit(need, [...path, name]) + 1)
    visiting.delete(name)
    layers.set(name, layer)
    return layer
  }
  for (const name of byName.keys()) visit(name, [])
  return layers
}

/** Maximum number of lines a wrapped stale reason takes under its instance. */
const MAX_REASON_LINES = 3

/** Splits `text` at spaces into lines of at most `width` columns, at most `maxLines` of them. */
const wrapWords = (text: string, width: number, maxLines: number): Array<string> => {
  const lines: Array<string> = []
  let current = ""
  for (const word of text.split(" ")) {
    const candidate = current === "" ? word : `${current} ${word}`
    if (textWidth(candidate) <= width || current === "") {
      current = candidate
    } else {
      lines.push(current)
      current = word
    }
  }
  if (current !== "") lines.push(current)
  if (lines.length <= maxLines) return lines.map((line) => truncateEnd(line, width))
  const kept = lines.slice(0, maxLines)
  kept[maxLines - 1] = truncateEnd(`${kept[maxLines - 1]} …`, width)
  return kept.map((line) => truncateEnd(line, width))
}

/** One line per instance with its mark; a stale reason that does not fit goes on the lines below. */
const instanceLines = (stage: GraphStage, indent: string, glyphs: Glyphs, columns: number): Array<string> =>
  (stage.instanceList ?? []).flatMap((instance) => {
    let mark = glyphs.fresh
    if (instance.blocked === true) mark = glyphs.blocked
    else if (instance.stale) mark = glyphs.stale
    const head = `${indent}${mark} ${instance.name}`
    const mustRun = instance.stale || instance.blocked === true
    if (!mustRun || instance.reason === undefined) return [truncateEnd(head, columns)]
    const oneLine = `${head}  ${instance.reason}`
    if (textWidth(oneLine) <= columns) return [oneLine]
    const reasonIndent = `${indent}    `
    const reasonWidth = Math.max(20, columns - textWidth(reasonIndent))
    const wrapped = wrapWords(instance.reason, reasonWidth, MAX_REASON_LINES)
    return [truncateEnd(head, columns), ...wrapped.map((line) => truncateEnd(reasonIndent + line, columns))]
  })

const renderLayers = (model: GraphModel, options: Required<RenderGraphOptions>, glyphs: Glyphs): string => {
  const byName = indexStages(model)
  const layers = computeLayers(byName)
  const depth = Math.max(-1, ...layers.values()) + 1
  const nameWidth = Math.max(...model.stages.map((stage) => textWidth(stage.name)))
  const countWidth = Math.max(...model.stages.map((stage) => textWidth(instanceCount(stage))))
  const markWidth = Math.max(...model.stages.map((stage) => textWidth(stateMark(stage, glyphs))))
  const axesText = (stage: GraphStage): string => (stage.axes ?? []).join(options.ascii ? "x" : "×")
  const axesWidth = Math.max(...model.stages.map((stage) => textWidth(axesText(stage))))
  const numberWidth = String(depth).length
  const lines: Array<string> = []
  for (let layer = 0; layer < depth; layer++) {
    const members = model.stages.filter((stage) => layers.get(stage.name) === layer)
    members.forEach((stage, index) => {
      const lastInLayer = index === members.length - 1
      const number = index === 0 ? padStart(String(layer + 1), numberWidth) : " ".repeat(numberWidth)
      let connector = glyphs.middle
      if (members.length === 1) connector = glyphs.only
      else if (index === 0) connector = glyphs.first
      else if (lastInLayer) connector = glyphs.end
      const needs = stage.needs.length === 0 ? "" : `${glyphs.arrow} ${stage.needs.join(", ")}`
      const axes = axesWidth === 0 ? "" : `  ${padEnd(axesText(stage), axesWidth)}`
      const row = `${number} ${connector}${padEnd(stage.name, nameWidth)}  ${padStart(instanceCount(stage), countWidth)}${axes}  ${padEnd(stateMark(stage, glyphs), markWidth)}`
      const gutter = " ".repeat(numberWidth) + " " + (lastInLayer ? "   " : glyphs.pipe)
      // The needs go to the end of the row, or to a line of their own when the row is full.
      if (needs !== "" && textWidth(row) + 3 + textWidth(needs) <= options.columns) {
        lines.push(`${row}   ${needs}`)
      } else {
        lines.push(truncateEnd(row.trimEnd(), options.columns))
        if (needs !== "") lines.push(truncateEnd(`${gutter}${needs}`, options.columns))
      }
      if (options.expand) {
        lines.push(...instanceLines(stage, gutter, glyphs, options.columns))
      }
    })
  }
  return lines.join("\n")
}

const renderTree = (model: GraphModel, options: Required<RenderGraphOptions>, glyphs: Glyphs): string => {
  const byName = indexStages(model)
  computeLayers(byName)
  const needed = new Set(model.stages.flatMap((stage) => stage.needs))
  const roots = model.stages.filter((stage) => !needed.has(stage.name))
  const printed = new Set<string>()
  const lines: Array<string> = []
  const visit = (stage: GraphStage, prefix: string, childPrefix: string): void => {
    const repeat = printed.has(stage.name)
    const head = `${prefix}${stage.name} (${instanceCount(stage)}) ${stateMark(stage, glyphs)}${repeat && stage.needs.length > 0 ? " (*)" : ""}`
    lines.push(truncateEnd(head, options.columns))
    if (repeat) return
    printed.add(stage.name)
    if (options.expand) {
      const gutter = childPrefix + (stage.needs.length > 0 ? glyphs.pipe : "   ")
      lines.push(...instanceLines(stage, gutter, glyphs, options.columns))
    }
    stage.needs.forEach((need, index) => {
      const last = index === stage.needs.length - 1
      visit(byName.get(need)!, childPrefix + (last ? glyphs.last : glyphs.branch), childPrefix + (last ? "   " : glyphs.pipe))
    })
  }
  for (const root of roots) visit(root, "", "")
  return lines.join("\n")
}

/**
 * Draws the stage graph as text, one stage per line with its instance count
 * and stale/fresh mark. Throws when a stage needs an unknown stage or the
 * stages form a cycle.
 */
export const renderGraph = (model: GraphModel, options: RenderGraphOptions = {}): string => {
  const resolved: Required<RenderGraphOptions> = {
    style: options.style ?? "layers",
    expand: options.expand ?? false,
    columns: options.columns ?? 80,
    ascii: options.ascii ?? false,
  }
  if (model.stages.length === 0) return "(no stages)"
  const glyphs = resolved.ascii ? ASCII : UNICODE
  return resolved.style === "tree" ? renderTree(model, resolved, glyphs) : renderLayers(model, resolved, glyphs)
}

/** Converts the engine's graph (stages, edges, instance states) into the drawing's input. */
export const graphFromEngine = (engine: EngineGraphModel): GraphModel => ({
  stages: engine.stages.map((stage) => {
    const needs: Array<string> = []
    for (const edge of engine.stageEdges) {
      if (edge.to === stage.name && !needs.includes(edge.from)) needs.push(edge.from)
    }
    const instanceList = engine.instances
      .filter((instance) => instance.stage === stage.name)
      .map((instance) => ({
        name: instance.id,
        stale: instance.state === "stale",
        blocked: instance.state === "blocked",
        ...(instance.reasons.length === 0 ? {} : { reason: instance.reasons.join("; ") }),
      }))
    return {
      name: stage.name,
      instances: stage.instances,
      stale: stage.counts.stale,
      fresh: stage.counts.fresh,
      blocked: stage.counts.blocked,
      needs,
      axes: stage.axes,
      instanceList,
    }
  }),
})
