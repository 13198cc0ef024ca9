/**
 * Benchmark of DPO and WPO training steps for the small preset's shape
 * (d=64, 2 layers, 4 heads, 64 tokens, batch 8) on each available backend,
 * with the patched and the stock wasm matmul, and against PyTorch when
 * `python3 -c "import torch"` works (or `/usr/bin/python3`, or `PIPE_PYTHON`).
 *
 * Usage: node --import tsx bench/ml.ts [--steps N] [--backends wasm,wasm-stock,cpu,tfjs-node,tfjs-node-gpu]
 *
 * A step is what `trainPreference` runs per batch when each pair is seen
 * once: the reference forward (no gradient), the policy forward and
 * backward, and the Adam update. "cached ref" leaves out the reference
 * forward, as when the run revisits pairs and scores them up front.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import os from "node:os"
import { initBackend } from "../src/ml/backend.ts"
import { presets } from "../src/ml/config.ts"
import { type EncodedPair, preferenceBatch } from "../src/ml/data.ts"
import type { PreferenceMethod } from "../src/ml/losses.ts"
import { createPreset } from "../src/ml/preset.ts"
import { Prng } from "../src/ml/prng.ts"
import { Adam, batchLogProbs, preferenceStep } from "../src/ml/train.ts"
import { setWasmMatMulPatch } from "../src/ml/wasm-kernels.ts"

const argValue = (name: string): string | undefined => {
  const at = process.argv.indexOf(name)
  return at >= 0 ? process.argv[at + 1] : undefined
}

const steps = Number(argValue("--steps") ?? 20)
const T = 64
const batch = 8
const resolvable = (name: string) => {
  try {
    createRequire(import.meta.url).resolve(name)
    return true
  } catch {
    return false
  }
}
const defaultBackends = [
  ...(resolvable("@tensorflow/tfjs-node-gpu") ? ["tfjs-node-gpu"] : []),
  ...(resolvable("@tensorflow/tfjs-node") ? ["tfjs-node"] : []),
  "wasm",
  "wasm-stock",
  "cpu",
]
const backends = (argValue("--backends") ?? defaultBackends.join(",")).split(",")

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const makePairs = (): EncodedPair[] => {
  const prng = new Prng(1)
  const tokens = (n: number) => Array.from({ length: n }, () => prng.int(256))
  return Array.from({ length: batch }, () => ({
    prompt: [256, ...tokens(T / 2 - 1)],
    chosen: tokens(T / 2),
    rejected: tokens(T / 2),
  }))
}

interface Timing {
  /** Median wall-clock milliseconds per step. */
  wall: number
  /** Median process CPU milliseconds per step (less sensitive to other load on the machine). */
  cpu: number
}

interface Row {
  backend: string
  method: PreferenceMethod
  full: Timing
  cachedRef: Timing
}

const cpuNow = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const timeSteps = (method: PreferenceMethod, count: number, cachedRef: boolean): Timing => {
  const policy = createPreset("small", 1)
  const reference = policy.clone({ trainable: false })
  const tokens = preferenceBatch(makePairs(), 258)
  const adam = new Adam(policy.variables(), { lr: 1e-4 })
  const refLogps = batchLogProbs(reference, tokens)
  const wall: number[] = []
  const cpu: number[] = []
  const warmUp = Math.min(3, count)
  for (let i = 0; i < warmUp + count; i++) {
    const started = performance.now()
    const cpuStarted = cpuNow()
    preferenceStep(policy, cachedRef ? refLogps : reference, tokens, { method, beta: 0.1 }, adam)
    if (i >= warmUp) {
      wall.push(performance.now() - started)
      cpu.push(cpuNow() - cpuStarted)
    }
  }
  policy.dispose()
  reference.dispose()
  return { wall: median(wall), cpu: median(cpu) }
}

const rows: Row[] = []
const load = os.loadavg()
console.log(`machine: ${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, node ${process.version}, load average ${load.map((l) => l.toFixed(2)).join(" ")}`)
console.log(`model: preset small (d=${presets.small.hiddenSize}, ${presets.small.numLayers} layers, ${presets.small.numHeads} heads, V=${presets.small.vocabSize}), T=${T}, batch ${batch} pairs (${2 * batch} sequences)`)
for (const name of backends) {
  const stock = name === "wasm-stock"
  try {
    const info = await initBackend({ backend: stock ? "wasm" : name })
    setWasmMatMulPatch(!stock)
    const count = info.name === "cpu" ? Math.min(steps, 2) : steps
    for (const method of ["dpo", "wpo"] as const) {
      const row: Row = { backend: name, method, full: timeSteps(method, count, false), cachedRef: timeSteps(method, count, true) }
      rows.push(row)
      const cell = (t: Timing) => `${t.wall.toFixed(1).padStart(7)} ms wall ${t.cpu.toFixed(1).padStart(7)} ms CPU`
      console.log(
        `${name.padEnd(14)} ${method}  step: ${cell(row.full)} (${(1000 / row.full.wall).toFixed(2)} steps/s)  cached reference: ${cell(row.cachedRef)}`,
      )
    }
  } catch (error) {
    console.log(`${name.padEnd(14)} skipped: ${(error as Error).message.split("\n")[0]}`)
  }
}
setWasmMatMulPatch(true)

const torchScript = String.raw`
import math, re, statistics, sys, time, torch
torch.manual_seed(0); torch.set_num_threads(1)
V, d, L, H, I, T, B = 259, 64, 2, 4, 172, 64, 8
hd = d // H
class M(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.emb = torch.nn.Parameter(torch.randn(V, d) * 0.02)
        s.layers = torch.nn.ModuleList()
        for _ in range(L):
            l = torch.nn.Module()
            l.n1 = torch.nn.Parameter(torch.ones(d)); l.n2 = torch.nn.Parameter(torch.ones(d))
            l.qkv = torch.nn.Linear(d, 3 * d); l.o = torch.nn.Linear(d, d, bias=False)
            l.gu = torch.nn.Linear(d, 2 * I, bias=False); l.down = torch.nn.Linear(I, d, bias=False)
            s.layers.append(l)
        s.norm = torch.nn.Parameter(torch.ones(d))
        inv = 10000 ** (-torch.arange(0, hd, 2).float() / hd)
        ang = torch.arange(T).float()[:, None] * inv[None, :]
        ang = torch.cat([ang, ang], -1)
        s.cos, s.sin = ang.cos(), ang.sin()
        s.mask = torch.full((T, T), float("-inf")).triu(1)
    def rms(s, x, w): return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * w
    def rope(s, x):
        x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
        return x * s.cos + torch.cat([-x2, x1], -1) * s.sin
    def forward(s, ids):
        x = s.emb[ids]; S = ids.shape[0]
        for l in s.layers:
            q, k, v = l.qkv(s.rms(x, l.n1)).view(S, T, 3, H, hd).permute(2, 0, 3, 1, 4)
            a = torch.softmax(s.rope(q) @ s.rope(k).transpose(-1, -2) / math.sqrt(hd) + s.mask, -1) @ v
            x = x + l.o(a.transpose(1, 2).reshape(S, T, d))
            g, u = l.gu(s.rms(x, l.n2)).chunk(2, -1)
            x = x + l.down(torch.nn.functional.silu(g) * u)
        return s.rms(x, s.norm) @ s.emb.t()
policy, ref = M(), M()
ref.load_state_dict(policy.state_dict())
opt = torch.optim.Adam(policy.parameters(), lr=1e-4)
ids = torch.randint(0, 256, (2 * B, T)); mask = torch.zeros(2 * B, T - 1); mask[:, T // 2 - 1 :] = 1
def logps(logits):
    lp = torch.log_softmax(logits[:, :-1], -1).gather(-1, ids[:, 1:, None])[..., 0]
    return (lp * mask).sum(-1), logits
def step(wpo):
    with torch.no_grad(): r, _ = logps(ref(ids))
    p, z = logps(policy(ids))
    m = 0.1 * ((p[:B] - r[:B]) - (p[B:] - r[B:]))
    loss = torch.nn.functional.softplus(-m)
    if wpo:
        with torch.no_grad():
            zz = z[:, :-1]
            q = (zz.gather(-1, ids[:, 1:, None])[..., 0] + zz.logsumexp(-1) - (2 * zz).logsumexp(-1)) * mask
            lw = q.sum(-1) / mask.sum(-1).clamp(min=1)
            w = torch.exp(torch.clamp(lw[:B] + lw[B:], max=0))
        loss = loss * w
    opt.zero_grad(); loss.mean().backward(); opt.step()
for wpo in (False, True):
    for _ in range(3): step(wpo)
    times = []
    for _ in range(int(sys.argv[1])):
        t = time.perf_counter(); step(wpo); times.append((time.perf_counter() - t) * 1000)
    print("wpo" if wpo else "dpo", statistics.median(times))
cfg = torch.__config__.show()
blas = re.search(r"BLAS_INFO=(\w+)", cfg)
libs = sorted({re.sub(r".*/", "", l.split()[-1]) for l in open("/proc/self/maps") if "blas" in l.lower() and "/" in l})
print("blas", (blas.group(1) if blas else "unknown") + " (loaded: " + ", ".join(libs) + ")", "torch", torch.__version__)
`

// `python3` first, then the system interpreter (Debian's python3-torch installs there even when
// a pyenv or venv python3 comes first on PATH); PIPE_PYTHON overrides both.
const interpreters = process.env.PIPE_PYTHON ? [process.env.PIPE_PYTHON] : ["python3", "/usr/bin/python3"]
const python = interpreters.find((candidate) => spawnSync(candidate, ["-c", "import torch"], { encoding: "utf8" }).status === 0)
if (python === undefined) {
  console.log(`PyTorch: not available (${interpreters.map((p) => `${p} -c "import torch"`).join(" and ")} failed), so no ratio is printed`)
} else {
  const output = execFileSync(python, ["-c", torchScript, String(steps)], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } })
  const torchMs: Record<string, number> = {}
  let blas = "unknown"
  for (const line of output.trim().split("\n")) {
    const [key, ...rest] = line.split(" ")
    if (key === "dpo" || key === "wpo") torchMs[key] = Number(rest[0])
    if (key === "blas") blas = rest.join(" ")
  }
  console.log(`PyTorch via ${python} (1 thread, BLAS ${blas}): dpo ${torchMs.dpo?.toFixed(1)} ms/step, wpo ${torchMs.wpo?.toFixed(1)} ms/step`)
  for (const row of rows) {
    const base = torchMs[row.method]
    if (base) console.log(`  ${row.backend} ${row.method}: ${(row.full.wall / base).toFixed(2)}x PyTorch (wall clock)`)
  }
}
