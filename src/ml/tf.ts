/**
 * The one tfjs instance of the ML library, loaded through `require` because
 * the packages are CommonJS (an ESM import of them costs about 0.5 s more at
 * start-up). `@tensorflow/tfjs` is loaded for its side effects: it registers
 * the gradient functions, which `@tensorflow/tfjs-core` alone leaves out, and
 * the `cpu` backend.
 */
import { createRequire } from "node:module"

const require = createRequire(import.meta.url)

export const tf: typeof import("@tensorflow/tfjs-core") = require("@tensorflow/tfjs-core")
require("@tensorflow/tfjs")
require("@tensorflow/tfjs-backend-wasm")
