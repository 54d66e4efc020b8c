/**
 * `npm run bench`: the engine spine's numbers, all measured on this machine in this run, each
 * against a baseline measured beside it, so the ratios hold even on a noisy machine.
 *
 *   1. process start → `ack` printed by `chain run --json`, against `node -e` printing a byte
 *   2. tokens/s through `chain run` against the raw ollama client, same test server
 *   3. wall time of quick-deep against its slower stage alone
 *   4. first token in-process on llama.cpp (tiny GGUF), after load
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startOllamaTestServer } from '../test/support/ollama-server.js'
import { fmt, median, printTable, timeChild, type Row } from './lib.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')
const RUNS = Number(process.env.BENCH_RUNS ?? 11)
const rows: Row[] = []

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-'))
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true })
    writeFileSync(path.join(dir, rel), text)
  }
  mkdirSync(path.join(dir, 'home'), { recursive: true })
  return dir
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i}`).join(' ')

async function main() {
  const server = await startOllamaTestServer({
    models: [
      { name: 'quick:1b', reply: () => words(40) },
      { name: 'deep:7b', reply: () => words(120) },
      { name: 'stream:1b', reply: () => words(4000) },
    ],
  })
  const dir = project({
    'models/manifest.yaml': 'models:\n  quick: { runtime: ollama, base: "quick:1b" }\n  deep: { runtime: ollama, base: "deep:7b" }\n  stream: { runtime: ollama, base: "stream:1b" }\n',
    'chains/quick-deep.yaml': 'stages:\n  quick: { model: quick, prompt: "{{query}}" }\n  deep: { model: deep, prompt: "{{query}}" }\n',
    'chains/deep-only.yaml': 'stages:\n  deep: { model: deep, prompt: "{{query}}" }\n',
    'chains/stream.yaml': 'stages:\n  s: { model: stream, prompt: "{{query}}", options: { max_tokens: 100000 } }\n',
  })
  const env = { ...process.env, MIRADOR_HOME: path.join(dir, 'home'), OLLAMA_HOST: server.url, NO_COLOR: '1' }

  // 1. start → ack
  {
    const ack: number[] = []
    const bare: number[] = []
    for (let i = 0; i < RUNS; i++) {
      bare.push((await timeChild(process.execPath, ['-e', "process.stdout.write('x')"])).firstByte)
      ack.push((await timeChild(process.execPath, [BIN, 'chain', 'run', 'quick-deep', 'hello', '--json'], { cwd: dir, env })).firstByte)
    }
    const r = median(ack) / median(bare)
    rows.push({ benchmark: 'start → ack (chain run --json)', measured: fmt(median(ack)), baseline: `node -e: ${fmt(median(bare))}`, ratio: `${r.toFixed(2)}×`, goal: '≤ 2×', met: r <= 2 ? 'yes' : 'no' })
  }

  // 2. tokens/s: chain run vs the raw client
  // paced: a model far faster than any local LLM; unpaced: the server writes as fast as it can,
  // against a raw client that prints each token (the least a streaming display does)
  for (const [label, delay, show] of [['paced 1 ms/token', 1, false], ['unpaced', 0, true]] as const) {
    server.setOptions({ tokenDelayMs: delay, tokens: delay ? 1000 : 4000 })
    const viaMirador: number[] = []
    const raw: number[] = []
    const rawScript = `
      import { Ollama } from 'ollama'
      const c = new Ollama({ host: process.env.OLLAMA_HOST })
      const s = await c.chat({ model: 'stream:1b', messages: [{ role: 'user', content: 'go' }], stream: true, logprobs: true, options: { num_predict: 100000 } })
      let n = 0, first = 0
      for await (const part of s) { if (part.message?.content) { if (!n) first = performance.now(); n++; if (show) process.stdout.write(part.message.content) } }
      process.stdout.write(String.fromCharCode(10) + JSON.stringify({ n, ms: performance.now() - first }))`
    for (let i = 0; i < Math.max(3, RUNS >> 1); i++) {
      const m = await timeChild(process.execPath, [BIN, 'chain', 'run', 'stream', 'go', '--json'], { cwd: dir, env })
      const events = m.stdout.trim().split('\n').map((l) => {
        try {
          return JSON.parse(l) as { type: string; t: number }
        } catch {
          throw new Error(`chain run printed a line that is not JSON (exit ${m.code}): ${l.slice(0, 200)}`)
        }
      })
      const toks = events.filter((e) => e.type === 'token')
      viaMirador.push((toks.length - 1) / ((toks.at(-1)!.t - toks[0]!.t) / 1000))
      const out = await timeChild(process.execPath, ['--input-type=module', '-e', `const show = ${show};` + rawScript], { cwd: ROOT, env })
      const { n, ms } = JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { n: number; ms: number }
      raw.push((n - 1) / (ms / 1000))
    }
    const r = median(viaMirador) / median(raw)
    rows.push({ benchmark: `tokens/s, ${label}`, measured: `${median(viaMirador).toFixed(0)} tok/s`, baseline: `raw client: ${median(raw).toFixed(0)} tok/s`, ratio: `${r.toFixed(3)}×`, goal: '≥ 0.97×', met: r >= 0.97 ? 'yes' : 'no' })
  }

  // 3. quick-deep against deep alone (5 ms per token: quick 40 tokens, deep 120)
  {
    server.setOptions({ tokenDelayMs: 5, tokens: undefined as unknown as number })
    const both: number[] = []
    const alone: number[] = []
    for (let i = 0; i < Math.max(3, RUNS >> 1); i++) {
      const done = (out: string) => (JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number }).ms
      both.push(done((await timeChild(process.execPath, [BIN, 'chain', 'run', 'quick-deep', 'q', '--json'], { cwd: dir, env })).stdout))
      alone.push(done((await timeChild(process.execPath, [BIN, 'chain', 'run', 'deep-only', 'q', '--json'], { cwd: dir, env })).stdout))
    }
    const r = median(both) / median(alone)
    rows.push({ benchmark: 'quick-deep wall time', measured: fmt(median(both)), baseline: `deep alone: ${fmt(median(alone))}`, ratio: `${r.toFixed(3)}×`, goal: '≤ 1.1×', met: r <= 1.1 ? 'yes' : 'no' })
  }
  await server.close()

  // 4. llama.cpp first token after load, in-process
  {
    const file = process.env.MIRADOR_TEST_GGUF ?? path.resolve(ROOT, '../shared/models/stories260K.gguf')
    const { createLlamaCpp } = await import('../src/runtimes/llamacpp/index.js')
    const rt = createLlamaCpp({ threads: 1, contextSize: 256 })
    const firstToken = async () => {
      const t0 = performance.now()
      let first = -1
      for await (const part of rt.generate({ model: file, prompt: 'Once upon a time', options: { temperature: 0, max_tokens: 8 }, logprobs: true })) {
        if (part.type === 'text-delta' && first < 0) first = performance.now() - t0
        if (part.type === 'error') throw part.error
      }
      return first
    }
    await firstToken() // load
    const times: number[] = []
    for (let i = 0; i < 20; i++) times.push(await firstToken())
    await rt.dispose?.()
    const m = median(times)
    rows.push({ benchmark: 'llama.cpp first token after load', measured: fmt(m), baseline: '—', ratio: '—', goal: '≤ 10 ms', met: m <= 10 ? 'yes' : 'no' })
  }

  console.log(`\nMirador benchmarks (${os.cpus().length} cores, Node ${process.version}, medians of ${RUNS} runs where timed from a process)\n`)
  printTable(rows)
}

await main()
