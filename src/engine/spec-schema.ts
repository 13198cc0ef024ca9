/**
 * The shape of `pipeline.yaml` as an Effect Schema. The same definitions
 * validate the file and generate `schema/pipeline.schema.json` for editors.
 */
import { JSONSchema, Schema } from "effect"

const Scalar = Schema.Union(Schema.String, Schema.Number, Schema.Boolean)

export const MatrixAxisSchema = Schema.Union(
  Schema.String.annotations({ description: 'A param reference such as "${seeds}": a list gives its items, a mapping its keys.' }),
  Schema.Array(Scalar).annotations({ description: "The values of this matrix axis." }),
)

export const StageSchema = Schema.Struct({
  module: Schema.String.annotations({ description: "Path of the stage module relative to pipeline.yaml, e.g. stages/train.ts." }),
  description: Schema.optional(Schema.String),
  matrix: Schema.optional(
    Schema.Record({ key: Schema.String, value: MatrixAxisSchema }).annotations({
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

export const PipelineSchema = Schema.Struct({
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
  stages: Schema.Record({ key: Schema.String, value: StageSchema }).annotations({
    description: "Stages by name.",
  }),
}).annotations({ title: "pipe pipeline.yaml" })

export type PipelineInput = Schema.Schema.Type<typeof PipelineSchema>
export type StageInput = Schema.Schema.Type<typeof StageSchema>

export const STAGE_FIELDS = ["module", "description", "matrix", "needs", "params", "deps", "outputs", "resources"] as const
export const TOP_FIELDS = ["params", "profiles", "default_profile", "resources", "stages"] as const

/** Returns the JSON Schema (draft-07) text for editors, with a trailing newline. */
export const pipelineJsonSchema = (): string => `${JSON.stringify(JSONSchema.make(PipelineSchema), null, 2)}\n`
