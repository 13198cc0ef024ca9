/**
 * The `pipe` command line: argument parsing, command dispatch, renderer
 * choice, signals and exit codes. See docs/engine.md for every command.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { existsSync, readFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { parseArgs, type ParseArgsConfig } from "node:util"
import { EngineError, formatSpecError, FrozenLockError, SpecError, UsageError } from "../engine/errors.js"
import type { Renderer, RunEvent } from "../engine/events.js"
import { StageFailure } from "../engine/executor.js"
import { buildGraph, formatGraph, type GraphFormat } from "../engine/graph.js"
import { collectGarbage, invalidate, verify } from "../engine/maintenance.js"
import { upstreamClosure, type Instance } from "../engine/plan.js"
import { Project } from "../engine/project.js"
import { runPipeline } from "../engine/runner.js"
import { compatibleWithWhere, matchesWhere, parseWhere, selectInstances, sinkInstances } from "../engine/select.js"
import { ensureTypeScriptLoader } from "../engine/loader.js"
import { pipelineJsonSchema } from "../engine/spec-schema.js"
import { makeJsonRenderer, makePlainRenderer } from "./render.js"

export { setTypeScriptLoader } from "../engine/loader.js"

/** Exit codes; docs/engine.md lists them too. */
export const EXIT = {
  ok: 0,
  stageFailed: 1,
  usage: 2,
  mismatch: 3,
  engine: 4,
  sigint: 130,
  sigterm: 143,
} as const

export interface Io {
  readonly stdout: (text: string) => void
  readonly stderr: (text: string) => void
  readonly isTTY: boolean
  readonly env: NodeJS.ProcessEnv
}

const COMMON_OPTIONS = {
  file: { type: "string", short: "f" },
  profile: { type: "string", short: "p" },
  set: { type: "string", multiple: true },
  backend: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsConfig["options"]

const COMMON_HELP = `Common options:
  -f, --file PATH       pipeline file (default: pipeline.yaml)
  -p, --profile NAME    params profile (default: default_profile in the file)
      --set PATH=VALUE  override one param; VALUE is read as YAML (repeatable)
      --backend NAME    export PIPE_BACKEND=NAME to stages and their facts hooks
  -h, --help            show this help`

interface CommandSpec {
  readonly summary: string
  readonly usage: string
  readonly options: ParseArgsConfig["options"]
  readonly help: string
  readonly run: (args: ParsedArgs, io: Io, signal: SignalState) => Promise<number>
}

interface ParsedArgs {
  readonly values: Record<string, string | boolean | Array<string> | undefined>
  readonly positionals: ReadonlyArray<string>
}

/** The signal that interrupted the current command, if any, and the fiber it stops. */
interface SignalState {
  signal: NodeJS.Signals | undefined
  current: Fiber.RuntimeFiber<unknown, unknown> | undefined
}

const str = (args: ParsedArgs, name: string): string | undefined => {
  const value = args.values[name]
  return typeof value === "string" ? value : undefined
}
const list = (args: ParsedArgs, name: string): Array<string> => {
  const value = args.values[name]
  return Array.isArray(value) ? value : []
}
const flag = (args: ParsedArgs, name: string): boolean => args.values[name] === true

const openProject = async (args: ParsedArgs): Promise<Project> => {
  const backend = str(args, "backend")
  if (backend !== undefined) process.env.PIPE_BACKEND = backend
  const profile = str(args, "profile")
  return Project.open({
    file: str(args, "file") ?? "pipeline.yaml",
    sets: list(args, "set"),
    ...(profile === undefined ? {} : { profile }),
  })
}

const parseJobs = (args: ParsedArgs): number => {
  const raw = str(args, "jobs")
  if (raw === undefined) return availableParallelism()
  const jobs = Number(raw)
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError({ message: `invalid -j ${raw}: expected a whole number of at least 1` })
  return jobs
}

/** Targets from positional selectors (default: every instance no other stage needs), filtered by --where. */
const resolveTargets = (project: Project, args: ParsedArgs): { targets: Array<Instance>; where: ReturnType<typeof parseWhere> } => {
  const where = parseWhere(project.plan, list(args, "where"))
  const selected = args.positionals.length > 0 ? selectInstances(project.plan, args.positionals) : sinkInstances(project.plan)
  const targets = selected.filter((instance) => compatibleWithWhere(instance, where))
  if (targets.length === 0) throw new UsageError({ message: "no instance matches the given targets and --where filters" })
  return { targets, where }
}

const chooseRenderer = async (args: ParsedArgs, io: Io): Promise<Renderer> => {
  const verbose = flag(args, "verbose")
  if (flag(args, "json")) return makeJsonRenderer(io.stdout)
  if (flag(args, "plain") || !io.isTTY || (io.env.CI !== undefined && io.env.CI !== "" && io.env.CI !== "false")) {
    return makePlainRenderer(io.stdout, { verbose })
  }
  try {
    await ensureTypeScriptLoader()
    // A computed specifier keeps the optional UI (and ink, react) out of the engine bundle.
    const uiModule = "../ui/index.js"
    const ui = (await import(uiModule)) as { makeInkRenderer?: (options: { verbose: boolean }) => Renderer }
    if (typeof ui.makeInkRenderer === "function") return ui.makeInkRenderer({ verbose })
  } catch {
    // The live view is optional; plain lines work everywhere.
  }
  return makePlainRenderer(io.stdout, { verbose })
}

/**
 * Evaluates every stage's `facts` hook for the instances a run needs, before
 * anything runs. Facts depend on params only, and a hook may reject bad
 * params (a non-numeric `--set train.steps`), so a bad value is a usage error
 * (exit 2) up front instead of a failure after the upstream stages built.
 */
const checkFacts = async (project: Project, targets: ReadonlyArray<Instance>): Promise<void> => {
  for (const instance of upstreamClosure(project.plan, targets)) {
    try {
      await project.facts(instance)
    } catch (error) {
      if (error instanceof EngineError || error instanceof UsageError) throw error
      throw new UsageError({ message: `${instance.id}: ${error instanceof Error ? error.message : String(error)}` })
    }
  }
}

/**
 * Draws the graph in layers with fresh/stale marks (src/ui/graph.ts), cut to
 * the terminal width. Returns undefined when the UI module cannot load, so
 * the caller falls back to the engine's plain listing.
 */
const drawGraph = async (graph: Awaited<ReturnType<typeof buildGraph>>, expand: boolean, io: Io): Promise<string | undefined> => {
  try {
    await ensureTypeScriptLoader()
    // A computed specifier keeps the UI out of the engine bundle.
    const graphModule = "../ui/graph.js"
    const ui = (await import(graphModule)) as typeof import("../ui/graph.js")
    const columns = io.isTTY ? (process.stdout.columns ?? 80) : Number.POSITIVE_INFINITY
    const text = ui.renderGraph(ui.graphFromEngine(graph), { expand, columns })
    return text.endsWith("\n") ? text : `${text}\n`
  } catch {
    return undefined
  }
}

/** Runs an Effect as the interruptible current fiber, so SIGINT/SIGTERM stop it with cleanup. */
const runInterruptible = async <A, E>(effect: Effect.Effect<A, E>, signal: SignalState): Promise<Exit.Exit<A, E>> => {
  const fiber = Effect.runFork(effect)
  signal.current = fiber as Fiber.RuntimeFiber<unknown, unknown>
  try {
    return await Effect.runPromise(Fiber.await(fiber))
  } finally {
    signal.current = undefined
  }
}

const exitForFailure = (cause: Cause.Cause<unknown>, signal: SignalState, io: Io): number => {
  if (Cause.isInterruptedOnly(cause)) return signal.signal === "SIGTERM" ? EXIT.sigterm : EXIT.sigint
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some") {
    const error = failure.value
    if (error instanceof StageFailure) return EXIT.stageFailed
    if (error instanceof FrozenLockError) {
      io.stderr(`pipe: ${error.message}\n`)
      return EXIT.mismatch
    }
    return reportError(error, io)
  }
  io.stderr(`pipe: internal error:\n${Cause.pretty(cause)}\n`)
  return EXIT.engine
}

const reportError = (error: unknown, io: Io): number => {
  if (error instanceof SpecError) {
    io.stderr(`${formatSpecError(error)}\n`)
    return EXIT.usage
  }
  if (error instanceof UsageError) {
    io.stderr(`pipe: ${error.message}\n`)
    return EXIT.usage
  }
  if (error instanceof EngineError) {
    io.stderr(`pipe: ${error.message}\n`)
    return EXIT.engine
  }
  io.stderr(`pipe: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`)
  return EXIT.engine
}

const withRenderer = async (args: ParsedArgs, io: Io, body: (onEvent: (event: RunEvent) => void) => Promise<number>): Promise<number> => {
  const renderer = await chooseRenderer(args, io)
  try {
    return await body(renderer.onEvent)
  } finally {
    await renderer.close()
  }
}

const runCommand: CommandSpec = {
  summary: "build targets incrementally (default: every stage nothing else needs)",
  usage: "pipe run [TARGET...] [options]",
  options: {
    force: { type: "boolean" },
    "dry-run": { type: "boolean", short: "n" },
    where: { type: "string", multiple: true, short: "w" },
    frozen: { type: "boolean" },
    "keep-going": { type: "boolean", short: "k" },
    jobs: { type: "string", short: "j" },
    verbose: { type: "boolean", short: "v" },
    json: { type: "boolean" },
    plain: { type: "boolean" },
  },
  help: `TARGET is a stage (train) or a stage with matrix values (train[seed=42,method=dpo]).
Options:
      --force           rebuild the selected instances even when cached (with --where: only matching ones)
  -n, --dry-run         print what would run and why, run nothing
  -w, --where KEY=VAL   keep instances whose matrix value KEY is VAL (repeatable; VAL may be a,b)
      --frozen          fail (exit 3) instead of changing pipeline.lock
  -k, --keep-going      keep building independent instances after a failure
  -j, --jobs N          instances run at once (default: number of cores)
  -v, --verbose         print stage log lines, replaying stored logs on cache hits
      --json            one NDJSON event per line on stdout
      --plain           plain lines even on a terminal`,
  run: async (args, io, signal) => {
    const project = await openProject(args)
    const { targets, where } = resolveTargets(project, args)
    const jobs = parseJobs(args)
    await checkFacts(project, targets)
    if (flag(args, "dry-run")) return dryRun(project, targets, where, flag(args, "force"), io)
    return withRenderer(args, io, async (onEvent) => {
      const exit = await runInterruptible(
        runPipeline(project, {
          targets,
          where,
          jobs,
          force: flag(args, "force"),
          keepGoing: flag(args, "keep-going"),
          frozen: flag(args, "frozen"),
          verbose: flag(args, "verbose"),
          onEvent,
        }),
        signal,
      )
      if (Exit.isSuccess(exit)) return exit.value.failed > 0 ? EXIT.stageFailed : EXIT.ok
      return exitForFailure(exit.cause, signal, io)
    })
  },
}

const dryRun = async (project: Project, targets: ReadonlyArray<Instance>, where: ReturnType<typeof parseWhere>, force: boolean, io: Io): Promise<number> => {
  const closure = upstreamClosure(project.plan, targets)
  const states = await project.evaluate(closure)
  let toRun = 0
  for (const instance of closure) {
    const state = states.get(instance.id)!
    const forced = force && (Object.keys(where).length === 0 || matchesWhere(instance, where))
    if (forced) {
      io.stdout(`would run   ${instance.id} (forced)\n`)
      toRun++
    } else if (state.kind === "fresh") {
      io.stdout(`cached      ${instance.id}\n`)
    } else if (state.kind === "stale") {
      io.stdout(`would run   ${instance.id} (${state.reasons.join("; ")})\n`)
      toRun++
    } else {
      io.stdout(`may run     ${instance.id} (${state.reasons.join("; ")}; runs unless its upstream outputs come out unchanged)\n`)
      toRun++
    }
  }
  io.stdout(`dry run: ${toRun} of ${closure.length} instances would run\n`)
  return EXIT.ok
}

const statusCommand: CommandSpec = {
  summary: "list stale instances and why they are stale",
  usage: "pipe status [TARGET...] [options]",
  options: { where: { type: "string", multiple: true, short: "w" }, json: { type: "boolean" }, all: { type: "boolean", short: "a" } },
  help: `Options:
  -w, --where KEY=VAL   only instances whose matrix value KEY is VAL (repeatable)
  -a, --all             list fresh instances too
      --json            print a JSON array of { id, stage, matrix, state, key, reasons }`,
  run: async (args, io) => {
    const project = await openProject(args)
    const { targets } = resolveTargets(project, args)
    const closure = upstreamClosure(project.plan, targets)
    const states = await project.evaluate(closure)
    const wanted = closure.filter((instance) => compatibleWithWhere(instance, parseWhere(project.plan, list(args, "where"))))
    if (flag(args, "json")) {
      const rows = wanted.map((instance) => {
        const state = states.get(instance.id)!
        return {
          id: instance.id,
          stage: instance.stage.name,
          matrix: instance.matrix,
          state: state.kind,
          key: state.kind === "blocked" ? null : state.key,
          reasons: state.kind === "fresh" ? [] : state.reasons,
        }
      })
      io.stdout(`${JSON.stringify(rows, null, 2)}\n`)
      return EXIT.ok
    }
    const counts = { fresh: 0, stale: 0, blocked: 0 }
    for (const instance of wanted) {
      const state = states.get(instance.id)!
      counts[state.kind]++
      if (state.kind === "fresh") {
        if (flag(args, "all")) io.stdout(`fresh     ${instance.id}\n`)
        continue
      }
      io.stdout(`${state.kind === "stale" ? "stale  " : "blocked"}   ${instance.id}\n`)
      for (const reason of state.reasons) io.stdout(`          - ${reason}\n`)
    }
    io.stdout(`${wanted.length} instance${wanted.length === 1 ? "" : "s"}: ${counts.fresh} fresh, ${counts.stale} stale, ${counts.blocked} waiting on stale upstream\n`)
    return EXIT.ok
  },
}

const graphCommand: CommandSpec = {
  summary: "print the stage graph",
  usage: "pipe graph [options]",
  options: { expand: { type: "boolean", short: "e" }, format: { type: "string" } },
  help: `Options:
  -e, --expand          one node per instance instead of one per stage
      --format FORMAT   ascii (default), dot, mermaid or json`,
  run: async (args, io) => {
    const format = (str(args, "format") ?? "ascii") as GraphFormat
    if (!["ascii", "dot", "mermaid", "json"].includes(format)) {
      throw new UsageError({ message: `invalid --format ${format}: expected ascii, dot, mermaid or json` })
    }
    const project = await openProject(args)
    const graph = await buildGraph(project)
    if (format === "ascii") {
      const drawing = await drawGraph(graph, flag(args, "expand"), io)
      if (drawing !== undefined) {
        io.stdout(drawing)
        return EXIT.ok
      }
    }
    io.stdout(formatGraph(graph, format, flag(args, "expand")))
    return EXIT.ok
  },
}

const invalidateCommand: CommandSpec = {
  summary: "drop cache entries of selected instances and everything downstream",
  usage: "pipe invalidate [SELECTOR...] [--where KEY=VAL]",
  options: { where: { type: "string", multiple: true, short: "w" } },
  help: `SELECTOR is a stage or stage[key=value,...]. With only --where, every instance
that has the axis KEY with value VAL is selected.
Options:
  -w, --where KEY=VAL   select instances whose matrix value KEY is VAL (repeatable)`,
  run: async (args, io) => {
    const project = await openProject(args)
    const where = parseWhere(project.plan, list(args, "where"))
    if (args.positionals.length === 0 && Object.keys(where).length === 0) {
      throw new UsageError({ message: "pipe invalidate needs a SELECTOR or --where KEY=VALUE, e.g. pipe invalidate --where seed=456" })
    }
    const base = args.positionals.length > 0 ? selectInstances(project.plan, args.positionals) : project.plan.instances
    const selected = base.filter((instance) => (Object.keys(where).length === 0 ? true : matchesWhere(instance, where)))
    if (selected.length === 0) throw new UsageError({ message: "no instance matches the given selectors and --where filters" })
    const result = await invalidate(project, selected)
    for (const id of result.instances) io.stdout(`invalidated ${id}\n`)
    io.stdout(`${result.instances.length} instances invalidated (${selected.length} selected, ${result.instances.length - selected.length} downstream); ${result.manifestsRemoved} cache entries removed\n`)
    return EXIT.ok
  },
}

const verifyCommand: CommandSpec = {
  summary: "rebuild with the cache bypassed and compare outputs with pipeline.lock",
  usage: "pipe verify [TARGET...] [options]",
  options: {
    where: { type: "string", multiple: true, short: "w" },
    sample: { type: "string" },
    jobs: { type: "string", short: "j" },
    json: { type: "boolean" },
    plain: { type: "boolean" },
    verbose: { type: "boolean", short: "v" },
  },
  help: `Rebuilds the targets (default: every stage nothing else needs) and their
upstream instances into a scratch store; exits 3 naming every instance and
output whose hash differs from pipeline.lock.
Options:
  -w, --where KEY=VAL   only targets whose matrix value KEY is VAL (repeatable)
      --sample N        verify N targets spread evenly over the target list
  -j, --jobs N          instances run at once (default: number of cores)
      --json            NDJSON run events on stdout, then a "verify-result" line`,
  run: async (args, io, signal) => {
    const project = await openProject(args)
    let { targets } = resolveTargets(project, args)
    const sample = str(args, "sample")
    if (sample !== undefined) {
      const n = Number(sample)
      if (!Number.isInteger(n) || n < 1) throw new UsageError({ message: `invalid --sample ${sample}: expected a whole number of at least 1` })
      const step = targets.length / Math.min(n, targets.length)
      targets = Array.from({ length: Math.min(n, targets.length) }, (_, i) => targets[Math.floor(i * step)]!)
    }
    const jobs = parseJobs(args)
    const json = flag(args, "json")
    return withRenderer(args, io, async (onEvent) => {
      const exit = await runInterruptible(verify(project, targets, { jobs, onEvent }), signal)
      if (Exit.isFailure(exit)) return exitForFailure(exit.cause, signal, io)
      const { checked, differences } = exit.value
      if (json) {
        io.stdout(`${JSON.stringify({ type: "verify-result", checked: checked.length, differences })}\n`)
      } else {
        for (const d of differences) io.stdout(`DIFFERS   ${d.instance}${d.output === undefined ? "" : ` ${d.output}`}: ${d.problem}\n`)
        io.stdout(
          differences.length === 0
            ? `verify: ${checked.length} instances rebuilt, every output matches pipeline.lock\n`
            : `verify: ${differences.length} difference${differences.length === 1 ? "" : "s"} in ${new Set(differences.map((d) => d.instance)).size} of ${checked.length} instances\n`,
        )
      }
      return differences.length === 0 ? EXIT.ok : EXIT.mismatch
    })
  },
}

const gcCommand: CommandSpec = {
  summary: "remove store objects and manifests that pipeline.lock does not reference",
  usage: "pipe gc [--dry-run]",
  options: { "dry-run": { type: "boolean", short: "n" } },
  help: `Options:
  -n, --dry-run         list what would be removed and how many bytes`,
  run: async (args, io) => {
    const project = await openProject(args)
    const dry = flag(args, "dry-run")
    const result = await collectGarbage(project, dry)
    const verb = dry ? "would remove" : "removed"
    for (const key of result.manifests) io.stdout(`${verb} manifest ${key}\n`)
    for (const object of result.objects) io.stdout(`${verb} object ${object.hash} (${object.size} bytes)\n`)
    io.stdout(`gc: ${verb} ${result.objects.length} objects (${result.bytes} bytes) and ${result.manifests.length} manifests\n`)
    return EXIT.ok
  },
}

const logCommand: CommandSpec = {
  summary: "print the stored log of instances",
  usage: "pipe log SELECTOR...",
  options: {},
  help: "Prints each selected instance's log: the cached run's log, or the log of its last failed run.",
  run: async (args, io) => {
    if (args.positionals.length === 0) throw new UsageError({ message: "pipe log needs a SELECTOR, e.g. pipe log train[seed=42]" })
    const project = await openProject(args)
    const selected = selectInstances(project.plan, args.positionals)
    const states = await project.evaluate(upstreamClosure(project.plan, selected))
    for (const instance of selected) {
      const state = states.get(instance.id)!
      io.stdout(`== ${instance.id}\n`)
      const failureLog = `${project.store.root}/logs/${instance.id.replace(/[^A-Za-z0-9._=-]+/g, "_").slice(0, 120)}.log`
      if (state.kind === "fresh") {
        io.stdout(state.manifest.log === null ? "(the stage wrote no log lines)\n" : project.store.readLog(state.manifest.log))
      } else if (existsSync(failureLog)) {
        io.stdout(`(not cached; log of the last failed run)\n${readFileSync(failureLog, "utf8")}`)
      } else {
        io.stdout("(no log: the instance has not been built with its current inputs)\n")
      }
    }
    return EXIT.ok
  },
}

const schemaCommand: CommandSpec = {
  summary: "print the JSON Schema of pipeline.yaml",
  usage: "pipe schema",
  options: {},
  help: "Prints the JSON Schema (draft-07) that editors use to check pipeline.yaml.",
  run: async (_args, io) => {
    io.stdout(pipelineJsonSchema())
    return EXIT.ok
  },
}

const COMMANDS: Readonly<Record<string, CommandSpec>> = {
  run: runCommand,
  status: statusCommand,
  graph: graphCommand,
  invalidate: invalidateCommand,
  verify: verifyCommand,
  gc: gcCommand,
  log: logCommand,
  schema: schemaCommand,
}

const mainHelp = (): string =>
  [
    "pipe: a content-hashed pipeline runner",
    "",
    "Usage: pipe COMMAND [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(11)} ${command.summary}`),
    "",
    "Run pipe COMMAND --help for the options of one command.",
    "Exit codes: 0 success, 1 a stage failed, 2 usage or pipeline.yaml error, 3 verify or --frozen found differences,",
    "4 store, lock or internal error, 130 interrupted (SIGINT), 143 terminated (SIGTERM).",
    "",
  ].join("\n")

const commandHelp = (name: string, command: CommandSpec): string => `Usage: ${command.usage}\n\n${command.summary}\n\n${command.help}\n\n${COMMON_HELP}\n`

/** Runs the CLI and returns the exit code; never calls process.exit. */
export const main = async (argv: ReadonlyArray<string>, io: Io, signal: SignalState = { signal: undefined, current: undefined }): Promise<number> => {
  const [name, ...rest] = argv
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    io.stdout(mainHelp())
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  const command = COMMANDS[name]
  if (command === undefined) {
    const { didYouMean } = await import("../engine/errors.js")
    io.stderr(`pipe: unknown command "${name}"${didYouMean(name, Object.keys(COMMANDS))}\n\n${mainHelp()}`)
    return EXIT.usage
  }
  let args: ParsedArgs
  try {
    const parsed = parseArgs({ args: [...rest], options: { ...COMMON_OPTIONS, ...command.options }, allowPositionals: true, strict: true })
    args = { values: parsed.values as ParsedArgs["values"], positionals: parsed.positionals }
  } catch (error) {
    io.stderr(`pipe ${name}: ${(error as Error).message}\n\n${commandHelp(name, command)}`)
    return EXIT.usage
  }
  if (flag(args, "help")) {
    io.stdout(commandHelp(name, command))
    return EXIT.ok
  }
  try {
    return await command.run(args, io, signal)
  } catch (error) {
    return reportError(error, io)
  }
}

/** Entry point used by bin/pipe.mjs: wires signals and exits with the command's code. */
export const runCli = async (): Promise<void> => {
  const signal: SignalState = { signal: undefined, current: undefined }
  const onSignal = (name: NodeJS.Signals) => () => {
    // A second signal during cleanup exits at once; the next run removes what is left in cache/tmp.
    if (signal.signal !== undefined) process.exit(name === "SIGTERM" ? EXIT.sigterm : EXIT.sigint)
    signal.signal = name
    const fiber = signal.current
    if (fiber === undefined) process.exit(name === "SIGTERM" ? EXIT.sigterm : EXIT.sigint)
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.on("SIGINT", onSignal("SIGINT"))
  process.on("SIGTERM", onSignal("SIGTERM"))
  const io: Io = {
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    isTTY: process.stdout.isTTY === true,
    env: process.env,
  }
  const code = await main(process.argv.slice(2), io, signal)
  process.exitCode = code
  if (signal.signal !== undefined) process.exitCode = signal.signal === "SIGTERM" ? EXIT.sigterm : EXIT.sigint
}
