/**
 * `mirador serve`'s numbers for `npm run bench` (section `serve`), on the Ollama test server with
 * paced tokens, one single-stage chain and one query:
 *
 * - tokens/s of the answer streamed through /v1/chat/completions (stream: true, read with fetch)
 *   against the same chain run by the engine `chain run` drives (goal ≥ 0.95×);
 * - the first-token latency the server adds;
 * - 8 concurrent streams: aggregate tokens/s and the p50 time to first token.
 *
 * The baseline is the engine in this process, warm, not a `chain run` child: a child's number would
 * be mostly Node's start and the CLI's load, which a warm server never pays again. Both sides are warm
 * and talk to the same test server, so the difference is what the server adds: HTTP parsing, the
 * route, the run pool, SSE framing and the loopback socket back to the client.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { registerBuiltinRuntimes } from '../src/cli/runtimes.js'
import { Engine } from '../src/engine/engine.js'
import { ModelsPlugin } from '../src/plugins/models/index.js'
import { startServe } from '../test/support/serve.js'
import { median } from './lib.js'

export interface ServeBench {
  /** tokens/s from the first token to the last */
  tps: { serveP50: number; engineP50: number }
  /** ms from the request (run) to the first token */
  firstToken: { serveP50: number; engineP50: number }
  concurrent: { streams: number; aggregateTps: number; firstTokenP50: number }
}

export const SERVE_MODEL = { name: 'paced:1b', tokenDelayMs: 2 }
const CHAIN = 'name: paced\nstages:\n  only:\n    model: paced\n    prompt: "{{query}}"\n'
const QUERY = 'What should I focus on this week?'

interface Timing {
  first: number
  last: number
  tokens: number
}

const rate = (t: Timing) => ((t.tokens - 1) * 1000) / (t.last - t.first)

/** One streamed chat completion, timed from the request to each content chunk. */
async function streamOnce(url: string): Promise<Timing> {
  const t0 = performance.now()
  const res = await fetch(`${url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'paced', stream: true, messages: [{ role: 'user', content: QUERY }] }),
  })
  if (!res.ok || !res.body) throw new Error(`serve answered ${res.status}: ${await res.text()}`)
  const t: Timing = { first: -1, last: -1, tokens: 0 }
  const decoder = new TextDecoder()
  let buf = ''
  for await (const part of res.body) {
    buf += decoder.decode(part, { stream: true })
    let nl: number
    while ((nl = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 2)
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue
      const chunk = JSON.parse(line.slice(6)) as { choices: { delta: { content?: string } }[] }
      if (!chunk.choices[0]?.delta.content) continue
      const now = performance.now() - t0
      if (t.first < 0) t.first = now
      t.last = now
      t.tokens++
    }
  }
  if (t.tokens < 2) throw new Error('the served stream carried no answer')
  return t
}

/** Runs the chain on a warm engine, timed from the run's start to each token event. */
async function engineOnce(engine: Engine, chain: ChainArg): Promise<Timing> {
  const t: Timing = { first: -1, last: -1, tokens: 0 }
  const t0 = performance.now()
  onToken = () => {
    const now = performance.now() - t0
    if (t.first < 0) t.first = now
    t.last = now
    t.tokens++
  }
  const r = await engine.run({ chain, query: QUERY })
  if (!r.ok || t.tokens < 2) throw new Error(`the bench chain did not answer: ${JSON.stringify(r.stages[0]?.error)}`)
  return t
}

type ChainArg = Parameters<Engine['run']>[0]['chain']
/** the one tap's target: the run being timed */
let onToken = () => {}

export async function benchServe(ollamaUrl: string, runs: number): Promise<ServeBench> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-serve-'))
  const home = path.join(dir, 'home')
  mkdirSync(path.join(dir, 'chains'), { recursive: true })
  mkdirSync(path.join(dir, 'models'), { recursive: true })
  mkdirSync(home, { recursive: true })
  writeFileSync(path.join(dir, 'chains', 'paced.yaml'), CHAIN)
  writeFileSync(path.join(dir, 'models', 'manifest.yaml'), `models:\n  paced: { runtime: ollama, base: "paced:1b" }\n`)

  const engine = new Engine({ cwd: dir, home, offline: false, memory: false, config: { ollama: { host: ollamaUrl } } })
  registerBuiltinRuntimes(engine)
  engine.hooks.event.tap('ServeBench', (ev) => {
    if (ev.type === 'token') onToken()
  })
  engine.use(new ModelsPlugin({ manifest: path.join(dir, 'models', 'manifest.yaml') }))
  const chain: ChainArg = { name: 'paced', value: { stages: { only: { model: 'paced', prompt: '{{query}}' } } } }

  const serve = await startServe([], { cwd: dir, env: { MIRADOR_HOME: home, OLLAMA_HOST: ollamaUrl } })
  try {
    // warm both: the first run of each loads code paths, resolves the model, opens the connections
    for (let i = 0; i < 2; i++) {
      await engineOnce(engine, chain)
      await streamOnce(serve.url)
    }
    const served: Timing[] = []
    const inProcess: Timing[] = []
    // alternated, so the machine's load drifts over both alike
    for (let i = 0; i < runs; i++) {
      inProcess.push(await engineOnce(engine, chain))
      served.push(await streamOnce(serve.url))
    }
    const streams = 8
    const firsts: number[] = []
    const aggregates: number[] = []
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      const all = await Promise.all(Array.from({ length: streams }, () => streamOnce(serve.url)))
      const wall = performance.now() - t0
      firsts.push(...all.map((t) => t.first))
      aggregates.push((all.reduce((n, t) => n + t.tokens, 0) * 1000) / wall)
    }
    return {
      tps: { serveP50: median(served.map(rate)), engineP50: median(inProcess.map(rate)) },
      firstToken: { serveP50: median(served.map((t) => t.first)), engineP50: median(inProcess.map((t) => t.first)) },
      concurrent: { streams, aggregateTps: median(aggregates), firstTokenP50: median(firsts) },
    }
  } finally {
    await serve.stop()
  }
}
