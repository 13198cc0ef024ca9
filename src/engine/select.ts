/**
 * Instance selectors for the command line: `stage`, `stage[key=value,...]`
 * (a partial matrix match) and `--where key=value` filters.
 */
import { didYouMean, UsageError } from "./errors.js"
import type { Instance, Plan } from "./plan.js"

export type Where = Readonly<Record<string, ReadonlyArray<string>>>

/** Parses repeated `--where key=value` options; repeating a key allows several values. */
export const parseWhere = (plan: Plan, items: ReadonlyArray<string>): Where => {
  const axes = new Set(plan.spec.stages.flatMap((stage) => stage.matrix.map((axis) => axis.key)))
  const where: Record<string, Array<string>> = {}
  for (const item of items) {
    const eq = item.indexOf("=")
    if (eq <= 0) throw new UsageError({ message: `invalid --where "${item}": expected KEY=VALUE, e.g. --where seed=456` })
    const key = item.slice(0, eq).trim()
    if (!axes.has(key)) {
      throw new UsageError({
        message: `--where ${item}: no stage has a matrix axis "${key}"${didYouMean(key, axes)}; axes: ${[...axes].sort().join(", ") || "(none)"}`,
      })
    }
    const values = item.slice(eq + 1).split(",").map((v) => v.trim())
    const known = new Set(plan.instances.filter((i) => Object.prototype.hasOwnProperty.call(i.matrix, key)).map((i) => String(i.matrix[key])))
    for (const value of values) {
      if (!known.has(value)) {
        throw new UsageError({
          message: `--where ${item}: no instance has ${key}=${value}; values of ${key}: ${[...known].sort().join(", ")}${didYouMean(value, known)}`,
        })
      }
    }
    ;(where[key] ??= []).push(...values)
  }
  return where
}

/**
 * True when the instance has at least one `where` axis and each axis it has
 * matches. Instances without any of the axes do not match.
 */
export const matchesWhere = (instance: Instance, where: Where): boolean => {
  let sawAxis = false
  for (const [key, values] of Object.entries(where)) {
    if (!Object.prototype.hasOwnProperty.call(instance.matrix, key)) continue
    sawAxis = true
    if (!values.includes(String(instance.matrix[key]))) return false
  }
  return sawAxis
}

/** True when no `where` axis the instance has contradicts it (axes it lacks are ignored). */
export const compatibleWithWhere = (instance: Instance, where: Where): boolean => {
  for (const [key, values] of Object.entries(where)) {
    if (Object.prototype.hasOwnProperty.call(instance.matrix, key) && !values.includes(String(instance.matrix[key]))) return false
  }
  return true
}

const SELECTOR_PATTERN = /^([A-Za-z_][A-Za-z0-9_-]*)(?:\[([^\]]*)\])?$/

/** Resolves `stage` or `stage[key=value,...]` selectors to instances, in plan order. */
export const selectInstances = (plan: Plan, selectors: ReadonlyArray<string>): Array<Instance> => {
  const chosen = new Set<string>()
  for (const selector of selectors) {
    const exact = plan.byId.get(selector)
    if (exact !== undefined) {
      chosen.add(exact.id)
      continue
    }
    const match = SELECTOR_PATTERN.exec(selector.trim())
    if (match === null) {
      throw new UsageError({ message: `invalid target "${selector}": expected STAGE or STAGE[key=value,...], e.g. train[seed=42]` })
    }
    const stageName = match[1]!
    const instances = plan.byStage.get(stageName)
    if (instances === undefined) {
      throw new UsageError({
        message: `unknown stage "${stageName}"${didYouMean(stageName, plan.byStage.keys())}; stages: ${[...plan.byStage.keys()].join(", ")}`,
      })
    }
    const filters: Array<[string, string]> = []
    for (const part of (match[2] ?? "").split(",").map((p) => p.trim()).filter((p) => p !== "")) {
      const eq = part.indexOf("=")
      if (eq <= 0) throw new UsageError({ message: `invalid target "${selector}": "${part}" is not key=value` })
      const key = part.slice(0, eq)
      const axes = plan.spec.stages.find((s) => s.name === stageName)!.matrix.map((a) => a.key)
      if (!axes.includes(key)) {
        throw new UsageError({ message: `invalid target "${selector}": stage "${stageName}" has no matrix axis "${key}"${didYouMean(key, axes)}` })
      }
      filters.push([key, part.slice(eq + 1)])
    }
    const matched = instances.filter((instance) => filters.every(([key, value]) => String(instance.matrix[key]) === value))
    if (matched.length === 0) {
      throw new UsageError({ message: `target "${selector}" matches no instance; run pipe graph --expand to list the instances` })
    }
    for (const instance of matched) chosen.add(instance.id)
  }
  return plan.instances.filter((instance) => chosen.has(instance.id))
}

/** Returns the instances of stages that no other stage needs, the default targets of `pipe run`. */
export const sinkInstances = (plan: Plan): Array<Instance> => {
  const needed = new Set(plan.spec.stages.flatMap((stage) => stage.needs.map((need) => need.stage)))
  return plan.instances.filter((instance) => !needed.has(instance.stage.name))
}
