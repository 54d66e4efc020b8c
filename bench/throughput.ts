/**
 * Bench section 2: tokens/s streamed through `chain run --json` against the raw `ollama` client
 * printing each token, both reading from the same test server.
 *
 * - paced (1 ms/token, 1000 tokens): a model far faster than any local LLM; the goal is that
 *   Mirador adds nothing a user could see (≥ 0.99×)
 * - unpaced (20,000 tokens, as fast as the server writes): what Mirador costs per token (≥ 0.9×);
 *   long enough that a moment of the machine's jitter does not decide the run
 *
 * `chain run` is timed by its own token events' `t`, the raw client by itself from its first
 * token. Both write to a file, not to a pipe: the bench process is also the test server, and
 * reading a child's output would take its time from serving (more for Mirador, whose JSON lines
 * are longer than bare tokens). Runs alternate Mirador and raw so that load on the shared machine
 * hits both alike; the ratio is the median of the runs' pairwise ratios, and each side's median
 * and spread (min–max) are shown.
 *
 * The wall-clock rows depend on the server and on the machine's load; token-cost.ts adds the CPU a
 * token costs in process, which does not.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { OllamaTestServer } from '../test/support/ollama-server.js'
import { median, type Row } from './lib.js'

export interface ThroughputSetup {
  /** the test server, to pace it */
  server: Pick<OllamaTestServer, 'setOptions'>
  /** the bench project (chains/stream.yaml) and its environment */
  dir: string
  env: NodeJS.ProcessEnv
  bin: string
  root: string
  runs: number
}

/** runs node with stdout to a file; resolves with what it wrote */
async function runToFile(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-out-'))
  const file = path.join(dir, 'stdout')
  const fd = openSync(file, 'w')
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', fd, 'inherit'] })
      child.on('error', reject)
      child.on('close', resolve)
    })
    const out = readFileSync(file, 'utf8')
    if (code !== 0) throw new Error(`node ${args.slice(0, 4).join(' ')} exited with ${code}: ${out.slice(-300)}`)
    return out
  } finally {
    closeSync(fd)
    rmSync(dir, { recursive: true, force: true })
  }
}

const RAW = `
  import { Ollama } from 'ollama'
  const c = new Ollama({ host: process.env.OLLAMA_HOST })
  const messages = [{ role: 'user', content: 'go' }]
  const s = await c.chat({ model: 'stream:1b', messages, stream: true, logprobs: true, options: { num_predict: 1e5 } })
  let n = 0, first = 0
  for await (const part of s) {
    const text = part.message?.content
    if (!text) continue
    if (!n) first = performance.now()
    n++
    process.stdout.write(text)
  }
  process.stdout.write(String.fromCharCode(10) + JSON.stringify({ n, ms: performance.now() - first }))`

function miradorTokensPerSecond(out: string): number {
  const toks = out
    .trim()
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as { type: string; t: number }
      } catch {
        throw new Error(`chain run printed a line that is not JSON: ${l.slice(0, 200)}`)
      }
    })
    .filter((e) => e.type === 'token')
  return (toks.length - 1) / ((toks.at(-1)!.t - toks[0]!.t) / 1000)
}

function rawTokensPerSecond(out: string): number {
  const { n, ms } = JSON.parse(out.trim().split('\n').at(-1)!) as { n: number; ms: number }
  return (n - 1) / (ms / 1000)
}

const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`

export async function throughputRows(s: ThroughputSetup): Promise<Row[]> {
  const rows: Row[] = []
  // the paced rate is the server's: only many pairs tell a 1 % difference from the machine's jitter
  for (const [label, delay, goal, reps] of [
    ['paced 1 ms/token', 1, 0.99, Math.max(5, s.runs)],
    ['unpaced', 0, 0.9, Math.max(3, s.runs >> 1)],
  ] as const) {
    s.server.setOptions({ tokenDelayMs: delay, tokens: delay ? 1000 : 20_000 })
    const via: number[] = []
    const raw: number[] = []
    const ratios: number[] = []
    for (let i = 0; i < reps; i++) {
      via.push(miradorTokensPerSecond(await runToFile([s.bin, 'chain', 'run', 'stream', 'go', '--json'], s.dir, s.env)))
      raw.push(rawTokensPerSecond(await runToFile(['--input-type=module', '-e', RAW], s.root, s.env)))
      ratios.push(via.at(-1)! / raw.at(-1)!)
    }
    const r = median(ratios)
    rows.push({
      benchmark: `tokens/s, ${label}`,
      measured: `${median(via).toFixed(0)} tok/s (${spread(via)})`,
      baseline: `raw client: ${median(raw).toFixed(0)} tok/s (${spread(raw)})`,
      ratio: `${r.toFixed(3)}× (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
      goal: `≥ ${goal}×`,
      met: r >= goal ? 'yes' : 'no',
    })
  }
  return rows
}
