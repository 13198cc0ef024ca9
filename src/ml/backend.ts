/**
 * Tensor backend selection for the ML library.
 *
 * Order of preference: `@tensorflow/tfjs-node-gpu`, `@tensorflow/tfjs-node`,
 * `@tensorflow/tfjs-backend-wasm` (with the kernels of `wasm-kernels.ts`
 * registered), then the pure JS `cpu` backend. The two native packages both
 * register a backend named `tensorflow`, so at most one of them is loaded.
 * Importing this module loads no tensor package; `initBackend` does.
 */
import { createRequire } from "node:module"
import { type BackendKind, backendKinds, forcedKind, isResolvable, packageOf } from "./detect.ts"

export { type BackendKind, backendKinds, detectBackendKind, parseBackendKind } from "./detect.ts"

/** The backend that runs, with the tfjs backend name and one line saying why it was chosen. */
export interface BackendInfo {
  readonly name: BackendKind
  readonly tfBackend: string
  readonly reason: string
}

export interface InitBackendOptions {
  /** Forces one backend; otherwise `PIPE_BACKEND` is read, then the order above applies. */
  readonly backend?: string
}

const require = createRequire(import.meta.url)

let current: BackendInfo | undefined

const activate = async (kind: BackendKind): Promise<string> => {
  const { tf } = await import("./tf.ts")
  const pkg = packageOf[kind]
  if (pkg !== undefined) {
    // Both native packages register "tensorflow"; never load the second one.
    if (tf.findBackend("tensorflow") === null) require(pkg)
    await setAndCheck("tensorflow")
    return "tensorflow"
  }
  if (kind === "wasm") {
    await setAndCheck("wasm")
    const { installWasmKernels } = await import("./wasm-kernels.ts")
    installWasmKernels()
    return "wasm"
  }
  await setAndCheck("cpu")
  return "cpu"
}

const setAndCheck = async (name: string): Promise<void> => {
  const { tf } = await import("./tf.ts")
  const ok = await tf.setBackend(name)
  await tf.ready()
  // setBackend may return false and keep the previous backend without throwing.
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`tf.setBackend("${name}") failed: tfjs is running on "${tf.getBackend()}" instead`)
  }
}

const firstLine = (error: unknown): string => String(error instanceof Error ? error.message : error).split("\n")[0]!

/**
 * Selects and activates the tensor backend, once per process (later calls
 * return the first result unless a different backend is forced). A forced
 * backend that cannot load raises an error naming it. Otherwise a failed
 * candidate is skipped, and the returned reason names it with the cause.
 */
export const initBackend = async (options: InitBackendOptions = {}): Promise<BackendInfo> => {
  const forced = forcedKind(options.backend)
  if (current !== undefined && (forced === undefined || forced === current.name)) return current
  const { tf } = await import("./tf.ts")
  tf.enableProdMode()

  if (forced !== undefined) {
    try {
      const tfBackend = await activate(forced)
      const source = options.backend ? "--backend" : "PIPE_BACKEND"
      current = { name: forced, tfBackend, reason: `${forced} forced by ${source}` }
      return current
    } catch (error) {
      throw new Error(
        `backend ${forced} could not be loaded: ${firstLine(error)}. ` +
          (packageOf[forced] ? `Install it with "npm install ${packageOf[forced]}@4.22.0", or ` : "") +
          `choose another with --backend or PIPE_BACKEND (${backendKinds.join(", ")})`,
      )
    }
  }

  const skipped: string[] = []
  for (const kind of backendKinds) {
    const pkg = packageOf[kind]
    if (pkg !== undefined && !isResolvable(pkg)) {
      skipped.push(`${pkg} is not installed`)
      continue
    }
    try {
      const tfBackend = await activate(kind)
      const why = skipped.length > 0 ? ` because ${skipped.join(" and ")}` : ""
      current = { name: kind, tfBackend, reason: `using ${kind}${why}` }
      return current
    } catch (error) {
      skipped.push(`${pkg ?? kind} failed to load (${firstLine(error)})`)
    }
  }
  throw new Error(`no tensor backend could be loaded: ${skipped.join("; ")}`)
}

/** Returns the backend chosen by `initBackend`, or throws if it has not run. */
export const currentBackend = (): BackendInfo => {
  if (current === undefined) throw new Error("initBackend() must run before any tensor work")
  return current
}

