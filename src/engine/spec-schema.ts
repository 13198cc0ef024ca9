/**
 * The shape of `pipeline.yaml` as an Effect Schema. The same definitions
 * validate the file and generate `schema/pipeline.schema.json` for editors.
 *
 * `effect/Schema` takes longer to load than the rest of the engine together.
 * So it is loaded, synchronously through `require`, only when a spec text
 * has not been validated before or when the JSON Schema is printed.
 */
import { createRequire } from "node:module"

export interface StageInput {
  readonly module: string
  readonly description?: string
  readonly matrix?: Readonly<Record<string, string | ReadonlyArray<string | number | boolean>>>
  readonly needs?: Readonly<Record<string, string>>
  readonly params?: ReadonlyArray<string>
  readonly deps?: ReadonlyArray<string>
  readonly outputs: ReadonlyArray<string>
  readonly resources?: Readonly<Record<string, number>>
}

export interface PipelineInput {
  readonly params?: Readonly<Record<string, unknown>>
  readonly profiles?: Readonly<Record<string, Readonly<Record<string, unknown>> | null>>
  readonly default_profile?: string
  readonly resources?: Readonly<Record<string, number>>
  readonly stages: Readonly<Record<string, StageInput>>
}

export const STAGE_FIELDS = ["module", "description", "matrix", "needs", "params", "deps", "outputs", "resources"] as const
export const TOP_FIELDS = ["params", "profiles", "default_profile", "resources", "stages"] as const

type SchemaModule = typeof import("effect/Schema")

const require = createRequire(import.meta.url)

const buildSchemas = (Schema: SchemaModule) => {
  const Scalar = Schema.Union(Schema.String, Schema.Number, Schema.Boolean)
  const MatrixAxis = Schema.Union(
    Schema.String.annotations({ description: 'A param reference such as "${seeds}": a list gives its items, a mapping its keys.' }),
    Schema.Array(Scalar).annotations({ description: "The values of this matrix axis." }),
  )
  const Stage = Schema.Struct({
    module: Schema.String.annotations({ description: "Path of the stage module relative to pipeline.yaml, e.g. stages/train.ts." }),
    description: Schema.optional(Schema.String),
    matrix: Schema.optional(
      Schema.Record({ key: Schema.String, value: MatrixAxis }).annotations({
        description: "Matrix axes; the stage runs once per combination of values.",
      }),
    ),
    needs: Schema.optional(
      Schema.Record({ key: Schema.String, value: Schema.String }).annotations({
        description:
          'Upstream instances by alias: "stage" (every instance), "stage@{key}" (bound to this instance\'s value of key), "stage@{key=value}".',
      }),
    ),
    params: Schema.optional(
      Schema.Array(Schema.String).annotations({
        description: "Dotted param paths the stage reads, e.g. train.beta; ${key} inserts a matrix value.",
      }),
    ),
    deps: Schema.optional(
      Schema.Array(Schema.String).annotations({
        description: "File dependency globs relative to pipeline.yaml; ${param} inserts a param, an empty param adds no dependency.",
      }),
    ),
    outputs: Schema.Array(Schema.String)
      .pipe(Schema.minItems(1))
      .annotations({ description: "Output file names or glob patterns inside the instance's output folder." }),
    resources: Schema.optional(
      Schema.Record({ key: Schema.String, value: Schema.Int.pipe(Schema.nonNegative()) }).annotations({
        description: "Resource slots each instance holds while it runs, e.g. { gpu: 1 }.",
      }),
    ),
  })
  const Pipeline = Schema.Struct({
    params: Schema.optional(
      Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations({
        description: "Nested parameters, referenced as ${a.b}.",
      }),
    ),
    profiles: Schema.optional(
      Schema.Record({
        key: Schema.String,
        value: Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
      }).annotations({ description: "Named param overrides, by dotted path or nested mapping." }),
    ),
    default_profile: Schema.optional(Schema.String.annotations({ description: "Profile used when --profile is not given." })),
    resources: Schema.optional(
      Schema.Record({ key: Schema.String, value: Schema.Int.pipe(Schema.positive()) }).annotations({
        description: "Capacity of each named resource slot, e.g. { gpu: 1 }.",
      }),
    ),
    stages: Schema.Record({ key: Schema.String, value: Stage }).annotations({
      description: "Stages by name.",
    }),
  }).annotations({ title: "pipe pipeline.yaml" })
  return { Pipeline }
}

type Schemas = ReturnType<typeof buildSchemas>

let schemas: Schemas | undefined

const loadSchemas = (): Schemas => {
  schemas ??= buildSchemas(require("effect/Schema") as SchemaModule)
  return schemas
}

export interface ValidationIssue {
  readonly _tag: "Pointer" | "Unexpected" | "Missing" | "Composite" | "Refinement" | "Transformation" | "Type" | "Forbidden"
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/** Validates a parsed spec; returns the issues (empty when valid). */
export const validatePipeline = (raw: unknown): ReadonlyArray<ValidationIssue> => {
  const { Pipeline } = loadSchemas()
  const Schema = require("effect/Schema") as SchemaModule
  const ParseResult = require("effect/ParseResult") as typeof import("effect/ParseResult")
  const Either = require("effect/Either") as typeof import("effect/Either")
  const decoded = Schema.decodeUnknownEither(Pipeline, { onExcessProperty: "error", errors: "all" })(raw)
  return Either.isLeft(decoded) ? ParseResult.ArrayFormatter.formatErrorSync(decoded.left) : []
}

/** Returns the JSON Schema (draft-07) text for editors, with a trailing newline. */
export const pipelineJsonSchema = (): string => {
  const JSONSchema = require("effect/JSONSchema") as typeof import("effect/JSONSchema")
  return `${JSON.stringify(JSONSchema.make(loadSchemas().Pipeline), null, 2)}\n`
}
