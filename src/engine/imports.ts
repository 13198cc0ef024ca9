/**
 * Traces the project files a stage module imports, transitively, with a
 * scanner that skips comments, strings, template literals and regular
 * expression literals, and reads the specifiers of `import ... from`,
 * `export ... from`, `import "x"`, `import("x")` and `require("x")`.
 * Relative specifiers resolve to files (`./x.js` also finds `./x.ts`, as
 * TypeScript's NodeNext resolution does); bare specifiers are reported as
 * package names so their installed versions can join the key.
 */
import { existsSync, readFileSync, statSync } from "node:fs"
import { dirname, join, resolve, sep } from "node:path"

type Token = { readonly kind: "string"; readonly value: string } | { readonly kind: "word"; readonly value: string } | { readonly kind: "punct"; readonly value: string }

const REGEX_PRECEDERS = new Set(["(", ",", "=", ":", "[", "!", "&", "|", "?", "{", "}", ";", "+", "-", "*", "%", "<", ">", "~", "^"])
const REGEX_KEYWORDS = new Set(["return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case", "do", "else", "yield", "await"])

/** Splits source text into the tokens that matter for finding import specifiers. */
export const scanTokens = (text: string): Array<Token> => {
  const tokens: Array<Token> = []
  let i = 0
  const n = text.length
  const regexAllowed = (): boolean => {
    const last = tokens[tokens.length - 1]
    if (last === undefined) return true
    if (last.kind === "punct") return REGEX_PRECEDERS.has(last.value)
    if (last.kind === "word") return REGEX_KEYWORDS.has(last.value)
    return false
  }
  const skipTemplate = (): void => {
    // i is just past the opening backtick.
    while (i < n) {
      const c = text[i]!
      if (c === "\\") {
        i += 2
      } else if (c === "`") {
        i++
        return
      } else if (c === "$" && text[i + 1] === "{") {
        i += 2
        let depth = 1
        while (i < n && depth > 0) {
          const d = text[i]!
          if (d === "{") depth++
          else if (d === "}") depth--
          else if (d === "`") {
            i++
            skipTemplate()
            continue
          } else if (d === '"' || d === "'") {
            readString(d)
            continue
          }
          i++
        }
      } else {
        i++
      }
    }
  }
  const readString = (quote: string): string => {
    i++
    let value = ""
    while (i < n && text[i] !== quote && text[i] !== "\n") {
      if (text[i] === "\\") {
        value += text[i + 1] ?? ""
        i += 2
      } else {
        value += text[i]
        i++
      }
    }
    i++
    return value
  }
  while (i < n) {
    const c = text[i]!
    if (c === "/" && text[i + 1] === "/") {
      while (i < n && text[i] !== "\n") i++
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2)
      i = end < 0 ? n : end + 2
    } else if (c === '"' || c === "'") {
      tokens.push({ kind: "string", value: readString(c) })
    } else if (c === "`") {
      i++
      skipTemplate()
      tokens.push({ kind: "string", value: "" })
    } else if (c === "/" && regexAllowed()) {
      i++
      let inClass = false
      while (i < n && text[i] !== "\n") {
        const d = text[i]!
        if (d === "\\") i++
        else if (d === "[") inClass = true
        else if (d === "]") inClass = false
        else if (d === "/" && !inClass) break
        i++
      }
      i++
      while (i < n && /[a-z]/i.test(text[i]!)) i++
      tokens.push({ kind: "string", value: "" })
    } else if (/[A-Za-z_$]/.test(c)) {
      let j = i + 1
      while (j < n && /[A-Za-z0-9_$]/.test(text[j]!)) j++
      tokens.push({ kind: "word", value: text.slice(i, j) })
      i = j
    } else if (/\s/.test(c)) {
      i++
    } else if (/[0-9]/.test(c)) {
      let j = i + 1
      while (j < n && /[0-9A-Za-z_.]/.test(text[j]!)) j++
      tokens.push({ kind: "word", value: text.slice(i, j) })
      i = j
    } else {
      tokens.push({ kind: "punct", value: c })
      i++
    }
  }
  return tokens
}

/** Returns the module specifiers a source file imports or re-exports. */
export const findSpecifiers = (text: string): Array<string> => {
  const tokens = scanTokens(text)
  const out: Array<string> = []
  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!
    const next = tokens[k + 1]
    if (token.kind !== "word") continue
    const previous = tokens[k - 1]
    // A property access such as `x.import(` or `x.from "..."` is not a module reference.
    if (previous?.kind === "punct" && previous.value === ".") continue
    if (token.value === "from" && next?.kind === "string") out.push(next.value)
    else if (token.value === "import" && next?.kind === "string") out.push(next.value)
    else if ((token.value === "import" || token.value === "require") && next?.kind === "punct" && next.value === "(") {
      const argument = tokens[k + 2]
      const close = tokens[k + 3]
      if (argument?.kind === "string" && close?.kind === "punct" && (close.value === ")" || close.value === ",")) out.push(argument.value)
    }
  }
  return out
}

const CANDIDATE_SUFFIXES = ["", ".ts", ".tsx", ".mts", ".cts", ".js", ".mjs", ".cjs", ".json", "/index.ts", "/index.tsx", "/index.js", "/index.mjs"]

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile()
  } catch {
    return false
  }
}

/** Resolves a relative specifier from `fromFile` to an existing file, or undefined. */
export const resolveRelative = (fromFile: string, specifier: string): string | undefined => {
  const base = resolve(dirname(fromFile), specifier)
  const bases = [base]
  const jsMatch = /\.(m|c)?js$/.exec(base)
  if (jsMatch !== null) {
    const stem = base.slice(0, -jsMatch[0].length)
    const ts = jsMatch[1] === "m" ? ".mts" : jsMatch[1] === "c" ? ".cts" : ".ts"
    bases.unshift(stem + ts, `${stem}.tsx`)
  }
  for (const candidate of bases) {
    for (const suffix of CANDIDATE_SUFFIXES) {
      if (isFile(candidate + suffix)) return candidate + suffix
    }
  }
  return undefined
}

/** The package name of a bare specifier, e.g. `@effect/platform/Foo` → `@effect/platform`. */
export const packageName = (specifier: string): string | undefined => {
  if (specifier.startsWith("node:") || specifier.startsWith(".") || specifier.startsWith("/")) return undefined
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

export interface ImportTrace {
  /** Absolute paths of the module and every project file it imports, sorted. */
  readonly files: ReadonlyArray<string>
  /** Bare package names imported anywhere in those files, sorted. */
  readonly packages: ReadonlyArray<string>
  /** Relative specifiers that resolved to no file, as `file: specifier`. */
  readonly unresolved: ReadonlyArray<string>
}

/** Follows relative imports from `entry`; files outside `root` or under node_modules are not followed. */
export const traceImports = (entry: string, root: string): ImportTrace => {
  const files = new Set<string>()
  const packages = new Set<string>()
  const unresolved: Array<string> = []
  const rootPrefix = root.endsWith(sep) ? root : root + sep
  const stack = [resolve(entry)]
  while (stack.length > 0) {
    const file = stack.pop()!
    if (files.has(file)) continue
    files.add(file)
    if (file.endsWith(".json")) continue
    const text = readFileSync(file, "utf8")
    for (const specifier of findSpecifiers(text)) {
      if (specifier.startsWith(".") || specifier.startsWith("/")) {
        const target = resolveRelative(file, specifier)
        if (target === undefined) {
          unresolved.push(`${file}: ${specifier}`)
        } else if (target.startsWith(rootPrefix) && !target.includes(`${sep}node_modules${sep}`)) {
          stack.push(target)
        }
      } else {
        const name = packageName(specifier)
        if (name !== undefined) packages.add(name)
      }
    }
  }
  return { files: [...files].sort(), packages: [...packages].sort(), unresolved }
}

/** Installed package versions from package-lock.json (lockfile v2/v3), or an empty map. */
export const readPackageVersions = (root: string): Map<string, string> => {
  const versions = new Map<string, string>()
  const lockPath = join(root, "package-lock.json")
  if (!existsSync(lockPath)) return versions
  try {
    const lock = JSON.parse(readFileSync(lockPath, "utf8")) as { packages?: Record<string, { version?: string }> }
    for (const [path, info] of Object.entries(lock.packages ?? {})) {
      const prefix = "node_modules/"
      if (path.startsWith(prefix) && !path.slice(prefix.length).includes("/node_modules/") && info.version !== undefined) {
        versions.set(path.slice(prefix.length), info.version)
      }
    }
  } catch {
    // An unreadable lock file leaves package versions out of the key.
  }
  return versions
}
