/**
 * Backend names and the cheap backend probe. This module loads no tensor
 * package, so the engine can call `detectBackendKind` in its main process.
 */
import { createRequire } from "node:module"

/** Which implementation runs the tensor ops; part of every training result's metadata. */
export type BackendKind = "tfjs-node-gpu" | "tfjs-node" | "wasm" | "cpu"

export const backendKinds: ReadonlyArray<BackendKind> = ["tfjs-node-gpu", "tfjs-node", "wasm", "cpu"]

const require = createRequire(import.meta.url)

const aliases: Record<string, BackendKind> = {
  "tfjs-node-gpu": "tfjs-node-gpu",
  gpu: "tfjs-node-gpu",
  "node-gpu": "tfjs-node-gpu",
  "tfjs-node": "tfjs-node",
  node: "tfjs-node",
  tensorflow: "tfjs-node",
  wasm: "wasm",
  cpu: "cpu",
}

/** Parses a backend name as given on the command line or in `PIPE_BACKEND`; throws on unknown names. */
export const parseBackendKind = (value: string, source = "backend"): BackendKind => {
  const kind = aliases[value.trim().toLowerCase()]
  if (kind === undefined) {
    throw new Error(
      `invalid ${source} "${value}": expected one of ${backendKinds.join(", ")} (aliases: gpu, node, tensorflow)`,
    )
  }
  return kind
}

export const packageOf: Record<BackendKind, string | undefined> = {
  "tfjs-node-gpu": "@tensorflow/tfjs-node-gpu",
  "tfjs-node": "@tensorflow/tfjs-node",
  wasm: undefined,
  cpu: undefined,
}

export const isResolvable = (name: string): boolean => {
  try {
    require.resolve(name)
    return true
  } catch {
    return false
  }
}

export const forcedKind = (forced?: string): BackendKind | undefined => {
  if (forced !== undefined && forced !== "") return parseBackendKind(forced)
  const env = process.env.PIPE_BACKEND
  if (env !== undefined && env !== "") return parseBackendKind(env, "PIPE_BACKEND")
  return undefined
}

/**
 * Returns the backend that `initBackend` would choose, without loading any
 * tensor package. It only checks that a native package resolves, so on a
 * machine where `@tensorflow/tfjs-node-gpu` is installed but CUDA is missing it
 * still answers `tfjs-node-gpu`, while `initBackend` would fall back.
 */
export const detectBackendKind = (forced?: string): BackendKind => {
  const kind = forcedKind(forced)
  if (kind !== undefined) return kind
  if (isResolvable("@tensorflow/tfjs-node-gpu")) return "tfjs-node-gpu"
  if (isResolvable("@tensorflow/tfjs-node")) return "tfjs-node"
  return "wasm"
}

