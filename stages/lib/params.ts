/** Reading numeric params with errors that name the param, the value and the fix. */

export interface NumberRule {
  readonly integer?: boolean
  /** Smallest allowed value (inclusive). */
  readonly min?: number
  /** Smallest allowed value (exclusive), e.g. 0 for a learning rate. */
  readonly above?: number
  /** Largest allowed value (inclusive). */
  readonly max?: number
}

/** Returns `params[name]` as a number, or throws naming the param and the value it got. */
export const numberParam = (params: Readonly<Record<string, unknown>>, name: string, rule: NumberRule = {}): number => {
  const raw = params[name]
  const value = typeof raw === "number" ? raw : Number.NaN
  const wanted = [
    rule.integer === true ? "an integer" : "a number",
    rule.min !== undefined ? `>= ${rule.min}` : undefined,
    rule.above !== undefined ? `> ${rule.above}` : undefined,
    rule.max !== undefined ? `<= ${rule.max}` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(" ")
  const invalid =
    !Number.isFinite(value) ||
    (rule.integer === true && !Number.isInteger(value)) ||
    (rule.min !== undefined && value < rule.min) ||
    (rule.above !== undefined && value <= rule.above) ||
    (rule.max !== undefined && value > rule.max)
  if (invalid) {
    throw new Error(`param ${name} must be ${wanted}, got ${JSON.stringify(raw)}; fix it in pipeline.yaml or with --set ${name}=VALUE`)
  }
  return value
}
