/**
 * The hook that makes `.ts` modules importable in this process.
 * `bin/pipe.mjs` loads a prebuilt bundle of the engine and installs tsx only
 * when a stage module or the TypeScript UI must be imported. Under tsx or
 * vitest the default does nothing, because `.ts` imports already work there.
 */
let ensureLoader: () => Promise<void> = async () => {}

export const setTypeScriptLoader = (ensure: () => Promise<void>): void => {
  ensureLoader = ensure
}

export const ensureTypeScriptLoader = (): Promise<void> => ensureLoader()
