/**
 * Tool call latency: p50/p95 of one `pool.run()` of the shipped calculate tool (tools/calculate.mjs)
 *
 *   - warm: a pool whose worker is already running (the usual case: each call still gets a fresh
 *     isolate, a fresh context, the module compiled and evaluated, IPC both ways);
 *   - cold: a new pool each time, first call (spawns the worker process and loads isolated-vm);
 *   - node:vm: the same function in this process, in a fresh `vm.createContext()` per call (the
 *     same "new realm per call", with none of the isolation: no separate heap, no limits, no
 *     separate process).
 *
 * Goal: warm p50 ≤ 5 ms.
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/tools-latency.ts
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'
import { createSandboxPool } from '../src/plugins/tools/sandbox/index.js'
import type { SandboxCall } from '../src/plugins/tools/sandbox/types.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface ToolLatency {
  warmP50: number
  warmP95: number
  coldP50: number
  coldP95: number
  nodeVmP50: number
  nodeVmP95: number
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return Number.NaN
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))
  return s[i] as number
}

export async function benchToolLatency(
  options: { warmRuns?: number; coldRuns?: number; vmRuns?: number } = {},
): Promise<ToolLatency> {
  const warmRuns = options.warmRuns ?? Number(process.env.BENCH_TOOL_RUNS ?? 300)
  const coldRuns = options.coldRuns ?? Number(process.env.BENCH_TOOL_COLD_RUNS ?? 15)
  const vmRuns = options.vmRuns ?? warmRuns
  const source = readFileSync(path.join(ROOT, 'tools/calculate.mjs'), 'utf8')
  const expression = '2^10 + sqrt(16) * (3 - 1) - cos(pi) / 4'
  const call: SandboxCall = {
    source,
    filename: 'calculate.mjs',
    args: { expression },
    limits: { timeoutMs: 2000, memoryMb: 32, maxOutputBytes: 64 * 1024 },
    capabilities: [],
  }
  const expected = 1032.25

  // warm
  const pool = createSandboxPool({ size: 1 })
  const warm: number[] = []
  try {
    for (let i = 0; i < 20; i++) await pool.run(call)
    for (let i = 0; i < warmRuns; i++) {
      const t0 = performance.now()
      const r = await pool.run(call)
      warm.push(performance.now() - t0)
      if (!r.ok || (r.value as { result: number }).result !== expected)
        throw new Error(`warm call failed: ${JSON.stringify(r)}`)
    }
  } finally {
    await pool.close()
  }

  // cold
  const cold: number[] = []
  for (let i = 0; i < coldRuns; i++) {
    const p = createSandboxPool({ size: 1 })
    try {
      const t0 = performance.now()
      const r = await p.run(call)
      cold.push(performance.now() - t0)
      if (!r.ok) throw new Error(`cold call failed: ${JSON.stringify(r)}`)
    } finally {
      await p.close()
    }
  }

  // node:vm, same function, a fresh context per call
  const script = new vm.Script(
    `${source.replace(/^export default /m, 'globalThis.__tool = ')}\n;JSON.stringify(globalThis.__tool(JSON.parse(__args)))`,
    { filename: 'calculate.mjs' },
  )
  const nodeVm: number[] = []
  for (let i = 0; i < vmRuns + 20; i++) {
    const t0 = performance.now()
    const context = vm.createContext({ __args: JSON.stringify({ expression }) })
    const out = JSON.parse(script.runInContext(context, { timeout: 2000 }) as string) as { result: number }
    if (i >= 20) nodeVm.push(performance.now() - t0)
    if (out.result !== expected) throw new Error(`node:vm call failed: ${JSON.stringify(out)}`)
  }

  return {
    warmP50: percentile(warm, 50),
    warmP95: percentile(warm, 95),
    coldP50: percentile(cold, 50),
    coldP95: percentile(cold, 95),
    nodeVmP50: percentile(nodeVm, 50),
    nodeVmP95: percentile(nodeVm, 95),
  }
}

export function printToolLatency(r: ToolLatency): void {
  const f = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`
  console.log('Tool call latency, calculate.mjs (goal: warm p50 ≤ 5 ms):')
  console.log('| | p50 | p95 |')
  console.log('|---|---|---|')
  console.log(`| sandbox, warm pool | ${f(r.warmP50)} | ${f(r.warmP95)} |`)
  console.log(`| sandbox, cold (new pool, first call) | ${f(r.coldP50)} | ${f(r.coldP95)} |`)
  console.log(`| node:vm in process, fresh context | ${f(r.nodeVmP50)} | ${f(r.nodeVmP95)} |`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  benchToolLatency()
    .then(printToolLatency)
    .catch((err: unknown) => {
      console.error(err)
      process.exitCode = 1
    })
}
