/**
 * Expands a `PipelineSpec` into stage instances: the matrix product of each
 * stage, its resolved params and dep globs, its upstream instances per alias,
 * and the workspace folder its outputs materialise to. Rejects dependency
 * cycles, bad bindings and colliding output folders.
 */
import { didYouMean, SpecError, type SourcePosition } from "./errors.js"
import type { InstanceRef } from "./events.js"
import { interpolate, lookupParam, paramPaths, wholeReference, type NeedSpec, type PipelineSpec, type StageSpec } from "./spec.js"
import type { MatrixValue } from "./stage.js"

export interface Instance {
  /** Readable name, e.g. `train[method=wpo,split=S1_age,group=A,seed=456]`. */
  readonly id: string
  readonly stage: StageSpec
  readonly matrix: Readonly<Record<string, MatrixValue>>
  readonly ref: InstanceRef
  /** Upstream instances per `needs` alias, sorted by id. */
  readonly inputs: ReadonlyArray<{ readonly alias: string; readonly instances: ReadonlyArray<Instance> }>
  /** Param values keyed by resolved dotted path. */
  readonly params: Readonly<Record<string, unknown>>
  /** Dep globs after param and matrix interpolation. */
  readonly depGlobs: ReadonlyArray<string>
  /** Workspace path, relative to the project root, where outputs materialise. */
  readonly materialisePath: string
  /** Position in topological order. */
  readonly order: number
}

export interface Plan {
  readonly spec: PipelineSpec
  /** Every instance in topological order (stage order, then matrix order). */
  readonly instances: ReadonlyArray<Instance>
  readonly byId: ReadonlyMap<string, Instance>
  readonly byStage: ReadonlyMap<string, ReadonlyArray<Instance>>
  /** Stages in topological order. */
  readonly stageOrder: ReadonlyArray<StageSpec>
  /** Direct downstream instances of each instance id. */
  readonly downstream: ReadonlyMap<string, ReadonlyArray<Instance>>
}

/** Formats an instance name from its stage and matrix, in axis order. */
export const instanceName = (stage: string, matrix: Readonly<Record<string, MatrixValue>>): string => {
  const entries = Object.entries(matrix)
  return entries.length === 0 ? stage : `${stage}[${entries.map(([k, v]) => `${k}=${String(v)}`).join(",")}]`
}

const pathSegment = (value: MatrixValue): string => {
  const cleaned = String(value).replace(/[^A-Za-z0-9._+=-]/g, "_")
  return cleaned === "" || cleaned === "." || cleaned === ".." ? "_" : cleaned
}

/** Orders stages so every stage follows the stages it needs; throws naming every stage of a cycle. */
const topologicalStages = (spec: PipelineSpec): Array<StageSpec> => {
  const byName = new Map(spec.stages.map((stage) => [stage.name, stage]))
  const state = new Map<string, "visiting" | "done">()
  const order: Array<StageSpec> = []
  const stack: Array<string> = []
  const visit = (stage: StageSpec): void => {
    const current = state.get(stage.name)
    if (current === "done") return
    if (current === "visiting") {
      const cycle = [...stack.slice(stack.indexOf(stage.name)), stage.name]
      const first = byName.get(cycle[0]!)!
      const need = first.needs.find((n) => n.stage === cycle[1])!
      throw new SpecError({
        message: `dependency cycle between stages: ${cycle.join(" -> ")}`,
        expected: "needs: that form no cycle; remove one of these references",
        position: spec.source.at(["stages", first.name, "needs", need.alias]),
      })
    }
    state.set(stage.name, "visiting")
    stack.push(stage.name)
    for (const need of stage.needs) visit(byName.get(need.stage)!)
    stack.pop()
    state.set(stage.name, "done")
    order.push(stage)
  }
  for (const stage of spec.stages) visit(stage)
  return order
}

const validateNeeds = (spec: PipelineSpec): void => {
  const byName = new Map(spec.stages.map((stage) => [stage.name, stage]))
  for (const stage of spec.stages) {
    for (const need of stage.needs) {
      // Resolving a position parses the YAML document, so it happens only for an error.
      const at = (): SourcePosition => spec.source.at(["stages", stage.name, "needs", need.alias])
      const upstream = byName.get(need.stage)
      if (upstream === undefined) {
        throw new SpecError({
          message: `stage "${stage.name}" needs unknown stage "${need.stage}"${didYouMean(need.stage, byName.keys())}`,
          expected: `one of the stages: ${[...byName.keys()].join(", ")}`,
          position: at(),
        })
      }
      if (upstream === stage) {
        throw new SpecError({
          message: `dependency cycle between stages: ${stage.name} -> ${stage.name}`,
          expected: "needs: that form no cycle; a stage cannot need itself",
          position: at(),
        })
      }
      for (const binding of need.bindings) {
        const upstreamAxis = upstream.matrix.find((axis) => axis.key === binding.key)
        if (upstreamAxis === undefined) {
          throw new SpecError({
            message: `binding {${binding.key}} in "${need.ref}": stage "${upstream.name}" has no matrix axis "${binding.key}"${didYouMean(binding.key, upstream.matrix.map((a) => a.key))}`,
            expected: `an axis of stage "${upstream.name}": ${upstream.matrix.map((a) => a.key).join(", ") || "(it has no matrix)"}`,
            position: at(),
          })
        }
        if (binding.value === undefined && !stage.matrix.some((axis) => axis.key === binding.key)) {
          throw new SpecError({
            message: `binding {${binding.key}} in "${need.ref}": stage "${stage.name}" has no matrix axis "${binding.key}" to take the value from`,
            expected: `an axis of stage "${stage.name}" (${stage.matrix.map((a) => a.key).join(", ") || "it has no matrix"}) or an explicit value, e.g. {${binding.key}=${String(upstreamAxis.values[0])}}`,
            position: at(),
          })
        }
        if (binding.value !== undefined && !upstreamAxis.values.some((v) => String(v) === binding.value)) {
          const values = upstreamAxis.values.map(String)
          throw new SpecError({
            message: `binding {${binding.key}=${binding.value}} in "${need.ref}": "${binding.value}" is not a value of axis "${binding.key}" of stage "${upstream.name}"${didYouMean(binding.value, values)}`,
            expected: `one of: ${values.join(", ")}`,
            position: at(),
          })
        }
      }
    }
  }
}

const matrixProduct = (stage: StageSpec): Array<Record<string, MatrixValue>> => {
  let combos: Array<Record<string, MatrixValue>> = [{}]
  for (const axis of stage.matrix) {
    const next: Array<Record<string, MatrixValue>> = []
    for (const combo of combos) for (const value of axis.values) next.push({ ...combo, [axis.key]: value })
    combos = next
  }
  return combos
}

/** Expands the spec into instances; throws `SpecError` with a position on any inconsistency. */
export const buildPlan = (spec: PipelineSpec): Plan => {
  validateNeeds(spec)
  const stageOrder = topologicalStages(spec)
  const knownParams = paramPaths(spec.params)
  const instances: Array<Instance> = []
  const byId = new Map<string, Instance>()
  const byStage = new Map<string, Array<Instance>>()
  const downstream = new Map<string, Array<Instance>>()
  const materialised = new Map<string, Instance>()

  for (const stage of stageOrder) {
    const list: Array<Instance> = []
    byStage.set(stage.name, list)
    // Upstream instances grouped by the values of the bound axes, so each lookup is one map access.
    const groups = stage.needs.map((need) => groupUpstream(need, byStage.get(need.stage)!))
    for (const matrix of matrixProduct(stage)) {
      const id = instanceName(stage.name, matrix)
      const lookup = (name: string): { value: unknown } | undefined => {
        if (Object.prototype.hasOwnProperty.call(matrix, name)) return { value: matrix[name] }
        const found = lookupParam(spec.params, name)
        return found.found ? { value: found.value } : undefined
      }
      const params: Record<string, unknown> = {}
      stage.params.forEach((template, index) => {
        const at = ["stages", stage.name, "params", index]
        const path = interpolate(template, lookup, (name) => {
          throw new SpecError({
            message: `param "${template}" of stage "${stage.name}" references unknown name "${name}"${didYouMean(name, [...Object.keys(matrix), ...knownParams])}`,
            expected: "a matrix axis of this stage or a param path",
            position: spec.source.at(at),
          })
        })
        const found = lookupParam(spec.params, path)
        if (!found.found) {
          throw new SpecError({
            message: `stage "${stage.name}" reads unknown param "${path}"${didYouMean(path, knownParams)}`,
            expected: "a param path defined under params:",
            position: spec.source.at(at),
          })
        }
        params[path] = found.value
      })
      const depGlobs: Array<string> = []
      stage.deps.forEach((template, index) => {
        const at = ["stages", stage.name, "deps", index]
        const unknown = (name: string): never => {
          throw new SpecError({
            message: `dep "${template}" of stage "${stage.name}" references unknown name "${name}"${didYouMean(name, [...Object.keys(matrix), ...knownParams])}`,
            expected: "a matrix axis of this stage or a param path",
            position: spec.source.at(at),
          })
        }
        const whole = wholeReference(template)
        if (whole !== undefined) {
          const found = lookup(whole) ?? unknown(whole)
          const value = found.value
          if (value === null || value === undefined || value === "") return
          if (Array.isArray(value)) {
            for (const item of value) if (typeof item === "string" && item !== "") depGlobs.push(item)
            return
          }
          depGlobs.push(String(value))
          return
        }
        depGlobs.push(interpolate(template, lookup, unknown))
      })
      const inputs = stage.needs.map((need, needIndex) => {
        const key = need.bindings.map((b) => b.value ?? String(matrix[b.key])).join("\0")
        const matched = groups[needIndex]!.get(key) ?? []
        if (matched.length === 0) {
          throw new SpecError({
            message: `"${need.ref}" matches no instance of stage "${need.stage}" for ${id}`,
            expected: `bindings whose values exist on stage "${need.stage}"`,
            position: spec.source.at(["stages", stage.name, "needs", need.alias]),
          })
        }
        return { alias: need.alias, instances: matched }
      })
      const materialisePath = ["out", stage.name, ...stage.matrix.map((axis) => `${axis.key}=${pathSegment(matrix[axis.key]!)}`)].join("/")
      const instance: Instance = {
        id,
        stage,
        matrix,
        ref: { id, stage: stage.name, matrix },
        inputs,
        params,
        depGlobs,
        materialisePath,
        order: instances.length,
      }
      const clash = materialised.get(materialisePath)
      if (clash !== undefined) {
        throw new SpecError({
          message: `instances ${clash.id} and ${id} would both materialise to ${materialisePath}`,
          expected: "matrix values that stay distinct after characters other than letters, digits and ._+=- are replaced by _",
          position: spec.source.at(["stages", stage.name, "matrix"]),
        })
      }
      materialised.set(materialisePath, instance)
      for (const input of inputs) {
        for (const upstream of input.instances) {
          const list = downstream.get(upstream.id) ?? []
          if (!list.includes(instance)) list.push(instance)
          downstream.set(upstream.id, list)
        }
      }
      instances.push(instance)
      list.push(instance)
      byId.set(id, instance)
    }
  }
  return { spec, instances, byId, byStage, stageOrder, downstream }
}

const compareIds = (a: Instance, b: Instance): number => {
  if (a.id < b.id) return -1
  return a.id > b.id ? 1 : 0
}

const groupUpstream = (need: NeedSpec, upstream: ReadonlyArray<Instance>): Map<string, Array<Instance>> => {
  const groups = new Map<string, Array<Instance>>()
  for (const instance of upstream) {
    const key = need.bindings.map((b) => String(instance.matrix[b.key])).join("\0")
    const list = groups.get(key) ?? []
    list.push(instance)
    groups.set(key, list)
  }
  for (const list of groups.values()) list.sort(compareIds)
  return groups
}

/** Returns the roots and every instance they depend on, in topological order. */
export const upstreamClosure = (plan: Plan, roots: Iterable<Instance>): Array<Instance> => {
  const seen = new Set<string>()
  const walk = (instance: Instance): void => {
    if (seen.has(instance.id)) return
    seen.add(instance.id)
    for (const input of instance.inputs) for (const upstream of input.instances) walk(upstream)
  }
  for (const root of roots) walk(root)
  return plan.instances.filter((instance) => seen.has(instance.id))
}

/** Returns the roots and every instance that depends on them, in topological order. */
export const downstreamClosure = (plan: Plan, roots: Iterable<Instance>): Array<Instance> => {
  const seen = new Set<string>()
  const walk = (instance: Instance): void => {
    if (seen.has(instance.id)) return
    seen.add(instance.id)
    for (const next of plan.downstream.get(instance.id) ?? []) walk(next)
  }
  for (const root of roots) walk(root)
  return plan.instances.filter((instance) => seen.has(instance.id))
}
