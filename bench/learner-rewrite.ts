/**
 * Learner rewrite latency: the time one rating takes to land in a chain file — lock, read, parse
 * (yaml Document API + schema validation), set weights.<type> in place, validate the new text,
 * save the backup, atomic write (temp file, fsync, rename, folder fsync) — on a realistic chain
 * (test/fixtures/learner/realistic.yaml: three stages, comments, six weights). Goal: ≤ 20 ms p50.
 *
 * Each timed call changes the value (types and values cycle), so every run really writes.
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/learner-rewrite.ts [RUNS]
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { updateChainWeight } from '../src/plugins/learner/rewrite.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const FIXTURE = path.join(ROOT, 'test', 'fixtures', 'learner', 'realistic.yaml')
const TYPES = ['planning', 'coding', 'chat', 'factual', 'creative', 'summarise']

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))
  return sorted[i]!
}

export async function benchRewrite(runs = 100): Promise<{ p50: number; p95: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-learner-'))
  try {
    const home = path.join(dir, 'home')
    const chains = path.join(dir, 'chains')
    mkdirSync(home, { recursive: true })
    mkdirSync(chains, { recursive: true })
    const file = path.join(chains, 'quick-deep.yaml')
    copyFileSync(FIXTURE, file)
    let k = 0
    // a rating: nudge the weight toward 1 or 0, as the learner does
    const rate = () => {
      const i = k++
      const up = i % 3 !== 0
      return updateChainWeight(
        file,
        TYPES[i % TYPES.length]!,
        (w) => {
          const cur = w ?? 0.5
          return up ? cur + (1 - cur) * 0.05 : cur * 0.95
        },
        { home },
      )
    }
    for (let i = 0; i < 10; i++) await rate() // warm up: module loading, ajv compile, JIT
    const times: number[] = []
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      const r = await rate()
      times.push(performance.now() - t0)
      if (!r.changed) throw new Error('benchmark rating did not change the file')
    }
    times.sort((a, b) => a - b)
    return { p50: quantile(times, 0.5), p95: quantile(times, 0.95) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const runs = Number(process.argv[2] ?? 100)
  const { p50, p95 } = await benchRewrite(runs)
  console.log(
    `learner rewrite per rating (${runs} runs): p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms (goal ≤ 20 ms)`,
  )
}
