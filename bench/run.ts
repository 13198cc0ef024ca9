/**
 * `npm run bench`: runs each benchmark in its own process, one after another,
 * so they do not share a heap or a core, and prints what each prints.
 * `BENCH=ml npm run bench` runs only the named ones; each file also runs on
 * its own with its options (see its header).
 */
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const here = dirname(fileURLToPath(import.meta.url))
const benchmarks = ["engine.ts", "ml.ts"]
const only = process.env["BENCH"]?.split(",")
let failed = 0
for (const file of benchmarks) {
  if (only !== undefined && !only.some((name) => file.startsWith(name))) continue
  console.log(`\n== bench/${file} ==`)
  const result = spawnSync(process.execPath, ["--import", "tsx", join(here, file)], {
    stdio: "inherit",
  })
  if (result.status !== 0) {
    console.error(`bench/${file} exited with ${result.status ?? result.signal}`)
    failed++
  }
}
process.exit(failed > 0 ? 1 : 0)
