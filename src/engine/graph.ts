/**
 * The data model behind `pipe graph` and `pipe status`: stages, their edges,
 * instances with their state (fresh, stale or blocked on a stale upstream)
 * and the reasons, plus text formats (ascii, dot, mermaid, json).
 */
import type { MatrixValue } from "./stage.js"
import type { Project } from "./project.js"

export type InstanceStateKind = "fresh" | "stale" | "blocked"

export interface GraphInstance {
  readonly id: string
  readonly stage: string
  readonly matrix: Readonly<Record<string, MatrixValue>>
  readonly state: InstanceStateKind
  /** Known when every upstream instance is fresh. */
  readonly key?: string
  readonly reasons: ReadonlyArray<string>
  /** Upstream instance ids by alias. */
  readonly inputs: Readonly<Record<string, ReadonlyArray<string>>>
  /** Workspace folder the outputs materialise to. */
  readonly outputPath: string
}

export interface GraphStage {
  readonly name: string
  readonly module: string
  readonly axes: ReadonlyArray<string>
  readonly instances: number
  readonly counts: Readonly<Record<InstanceStateKind, number>>
}

export interface GraphEdge {
  readonly from: string
  readonly to: string
  readonly alias: string
}

export interface GraphModel {
  /** Stages in topological order. */
  readonly stages: ReadonlyArray<GraphStage>
  readonly stageEdges: ReadonlyArray<GraphEdge & { readonly ref: string }>
  /** Instances in topological order. */
  readonly instances: ReadonlyArray<GraphInstance>
  readonly instanceEdges: ReadonlyArray<GraphEdge>
}

/** Builds the graph with every instance's current state (reads the store and lock, runs nothing). */
export const buildGraph = async (project: Project): Promise<GraphModel> => {
  const { plan } = project
  const states = await project.evaluate(plan.instances)
  const instances: Array<GraphInstance> = plan.instances.map((instance) => {
    const state = states.get(instance.id)!
    return {
      id: instance.id,
      stage: instance.stage.name,
      matrix: instance.matrix,
      state: state.kind,
      ...(state.kind === "blocked" ? {} : { key: state.key }),
      reasons: state.kind === "fresh" ? [] : state.reasons,
      inputs: Object.fromEntries(instance.inputs.map((input) => [input.alias, input.instances.map((u) => u.id)])),
      outputPath: instance.materialisePath,
    }
  })
  const stages: Array<GraphStage> = plan.stageOrder.map((stage) => {
    const counts: Record<InstanceStateKind, number> = { fresh: 0, stale: 0, blocked: 0 }
    for (const instance of instances) if (instance.stage === stage.name) counts[instance.state]++
    return {
      name: stage.name,
      module: stage.module,
      axes: stage.matrix.map((axis) => axis.key),
      instances: plan.byStage.get(stage.name)!.length,
      counts,
    }
  })
  const stageEdges = plan.stageOrder.flatMap((stage) => stage.needs.map((need) => ({ from: need.stage, to: stage.name, alias: need.alias, ref: need.ref })))
  const instanceEdges = plan.instances.flatMap((instance) =>
    instance.inputs.flatMap((input) => input.instances.map((u) => ({ from: u.id, to: instance.id, alias: input.alias }))),
  )
  return { stages, stageEdges, instances, instanceEdges }
}

export type GraphFormat = "ascii" | "dot" | "mermaid" | "json"

const quote = (text: string): string => `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`

const STATE_MARKS: Readonly<Record<InstanceStateKind, string>> = { fresh: "fresh", stale: "STALE", blocked: "blocked" }

const stateMark = (state: InstanceStateKind): string => STATE_MARKS[state]

const stageSummary = (stage: GraphStage): string => {
  const parts = [`${stage.instances} instance${stage.instances === 1 ? "" : "s"}`]
  if (stage.axes.length > 0) parts.push(`matrix ${stage.axes.join(" x ")}`)
  parts.push(`${stage.counts.fresh} fresh, ${stage.counts.stale} stale, ${stage.counts.blocked} blocked`)
  return parts.join("; ")
}

/** Renders the graph; `expand` shows one node per instance instead of one per stage. */
export const formatGraph = (graph: GraphModel, format: GraphFormat, expand: boolean): string => {
  if (format === "json") {
    return `${JSON.stringify(expand ? graph : { stages: graph.stages, stageEdges: graph.stageEdges }, null, 2)}\n`
  }
  const nodes = expand
    ? graph.instances.map((i) => ({ id: i.id, label: `${i.id}\\n${stateMark(i.state)}` }))
    : graph.stages.map((s) => ({ id: s.name, label: `${s.name}\\n${stageSummary(s)}` }))
  const edges = expand ? graph.instanceEdges : graph.stageEdges
  if (format === "dot") {
    const lines = ["digraph pipeline {", "  rankdir=LR;", "  node [shape=box];"]
    for (const node of nodes) lines.push(`  ${quote(node.id)} [label=${quote(node.label).replace(/\\\\n/g, "\\n")}];`)
    for (const edge of edges) lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [label=${quote(edge.alias)}];`)
    lines.push("}")
    return `${lines.join("\n")}\n`
  }
  if (format === "mermaid") {
    const ids = new Map(nodes.map((node, index) => [node.id, `n${index}`]))
    const lines = ["flowchart LR"]
    for (const node of nodes) lines.push(`  ${ids.get(node.id)}["${node.label.replace(/\\n/g, "<br/>").replace(/"/g, "#quot;")}"]`)
    for (const edge of edges) lines.push(`  ${ids.get(edge.from)} -->|${edge.alias}| ${ids.get(edge.to)}`)
    return `${lines.join("\n")}\n`
  }
  const lines: Array<string> = []
  if (expand) {
    for (const instance of graph.instances) {
      lines.push(`${instance.id}  [${stateMark(instance.state)}]`)
      for (const [alias, ids] of Object.entries(instance.inputs)) lines.push(`  ${alias} <- ${ids.join(", ")}`)
    }
  } else {
    for (const stage of graph.stages) {
      lines.push(`${stage.name}  (${stageSummary(stage)})`)
      for (const edge of graph.stageEdges.filter((e) => e.to === stage.name)) lines.push(`  ${edge.alias} <- ${edge.ref}`)
    }
  }
  return `${lines.join("\n")}\n`
}
