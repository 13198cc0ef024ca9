import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import { emulate } from "./terminal.ts"
const [cwd, args, trigger, outFile] = process.argv.slice(2)
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g
const env: any = { ...process.env, TERM: "xterm-256color" }; delete env.CI
const child = spawn("script", ["-qec", `stty cols 80 rows 24; exec node /work/main/bin/pipe.mjs ${args}`, "/dev/null"], { cwd, env })
let out = ""; let mid: string | undefined
child.stdout.setEncoding("utf8")
child.stdout.on("data", (d: string) => { out += d; if (!mid && new RegExp(trigger!).test(out.replace(ANSI, ""))) mid = out })
child.on("exit", (code) => {
  const screen = (o: string) => { const end = o.lastIndexOf("\x1b[?2026l"); const s = emulate(end === -1 ? o : o.slice(0, end), 80, 24); return s.rows.join("\n") }
  const fin = emulate(out, 80, 24)
  writeFileSync(outFile!, `exit ${code}\n=== MID (screen)\n${mid ? screen(mid) : "(none)"}\n=== FINAL (scrollback + screen)\n${[...fin.scrollback, ...fin.rows].join("\n")}\n`)
})
