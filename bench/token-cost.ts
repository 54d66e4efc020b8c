/**
 * Bench section 2, in process: the CPU one token costs on its way from the HTTP body to a
 * renderer's output, against the raw `ollama` client's own loop over the same body. No server and
 * no other process take part (the body is synthetic, handed over by the fetch both are given), so
 * CPU time per token is steady where the machine's load makes the tokens/s rows noisy.
 *
 * Mirador's path is the real one: the Ollama runtime, the engine's stage loop and `event` hook,
 * and the `--json` or plain renderer writing to a sink that keeps nothing. The body comes a network
 * chunk (8 lines) per turn of the event loop, as from a fast server, so renderers batch as they
 * would. The plain renderer gets a reply with a newline every 8 tokens.
 */
import { Ollama } from 'ollama'
import { Engine } from '../src/engine/engine.js'
import type { MiradorPlugin } from '../src/engine/plugins.js'
import { createOllama } from '../src/runtimes/ollama/index.js'
import { jsonRenderer } from '../src/cli/render/json.js'
import { plainRenderer } from '../src/cli/render/plain.js'
import type { Renderer } from '../src/cli/render/renderer.js'
import { median, type Row } from './lib.js'

const TOKENS = 100_000
const LINES_PER_CHUNK = 8

function body(newlines: boolean): Uint8Array[] {
  const lines: string[] = []
  const at = new Date().toISOString()
  for (let i = 0; i < TOKENS; i++) {
    const token = ` word${i % 4000}${newlines && i % 8 === 7 ? '\n' : ''}`
    const logprobs = [{ token, logprob: -0.5, bytes: [...Buffer.from(token)] }]
    lines.push(
      JSON.stringify({
        model: 'm',
        created_at: at,
        message: { role: 'assistant', content: token },
        done: false,
        logprobs,
      }),
    )
  }
  const message = { role: 'assistant', content: '' }
  lines.push(
    JSON.stringify({ model: 'm', created_at: at, message, done: true, done_reason: 'stop', eval_count: TOKENS }),
  )
  const enc = new TextEncoder()
  const chunks: Uint8Array[] = []
  for (let i = 0; i < lines.length; i += LINES_PER_CHUNK)
    chunks.push(enc.encode(lines.slice(i, i + LINES_PER_CHUNK).join('\n') + '\n'))
  return chunks
}

/** a fetch answering with `chunks`, one per turn of the event loop */
function fetchOf(chunks: Uint8Array[]): typeof fetch {
  return async () => {
    let i = 0
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        await new Promise((resolve) => setImmediate(resolve))
        if (i < chunks.length) controller.enqueue(chunks[i++]!)
        else controller.close()
      },
    })
    return new Response(stream, { headers: { 'content-type': 'application/x-ndjson' } })
  }
}

async function rawLoop(fetch: typeof globalThis.fetch): Promise<number> {
  const client = new Ollama({ host: 'http://bench:1', fetch })
  const messages = [{ role: 'user', content: 'go' }]
  let n = 0
  for await (const part of await client.chat({ model: 'm', messages, stream: true, logprobs: true }))
    if (part.message?.content) n++
  return n
}

function miradorRun(fetch: typeof globalThis.fetch, renderer: () => Renderer): () => Promise<number> {
  const runtime = createOllama({ host: 'http://bench:1', fetch })
  const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: false, config: {} })
  const models: MiradorPlugin = {
    name: 'BenchModels',
    apiVersion: engine.apiVersion,
    apply(host) {
      host.hooks.model.tapPromise('BenchModels', async () => ({
        name: 'm',
        runtime: 'ollama',
        generate: (request) => runtime.generate({ ...request, model: 'm' }),
      }))
    },
  }
  engine.use(models)
  let current: Renderer | undefined
  engine.hooks.event.tap('Renderer', (e) => current?.event(e))
  const chain = { name: 's', value: { stages: { s: { model: 'm', prompt: '{{query}}' } } } }
  return async () => {
    current = renderer()
    const result = await engine.run({ chain, query: 'go' })
    current.close()
    return result.tokens
  }
}

/**
 * CPU µs per token of each variant over `reps` runs, interleaved, after `warmup` runs that are not
 * counted (the JIT takes a few runs to compile the whole path)
 */
async function cpuPerToken(variants: (() => Promise<number>)[], reps = 7, warmup = 2): Promise<number[][]> {
  const out: number[][] = variants.map(() => [])
  for (let r = 0; r < warmup + reps; r++) {
    for (const [k, run] of variants.entries()) {
      const c0 = process.cpuUsage()
      const n = await run()
      const c = process.cpuUsage(c0)
      if (n !== TOKENS) throw new Error(`token cost bench: a run streamed ${n} tokens, not ${TOKENS}`)
      if (r >= warmup) out[k]!.push((c.user + c.system) / n)
    }
  }
  return out
}

export async function tokenCostRows(): Promise<Row[]> {
  const sink = { write: (_s: string) => true }
  const rows: Row[] = []
  for (const [label, newlines, renderer] of [
    ['--json', false, () => jsonRenderer(sink)],
    ['plain (piped)', true, () => plainRenderer(sink, sink)],
  ] as const) {
    const fetch = fetchOf(body(newlines))
    const [via, raw] = await cpuPerToken([miradorRun(fetch, renderer), () => rawLoop(fetch)])
    const m = median(via!)
    const b = median(raw!)
    rows.push({
      benchmark: `CPU per token in process, ${label}`,
      measured: `${m.toFixed(2)} µs (${Math.min(...via!).toFixed(2)}–${Math.max(...via!).toFixed(2)})`,
      baseline: `raw client loop: ${b.toFixed(2)} µs (${Math.min(...raw!).toFixed(2)}–${Math.max(...raw!).toFixed(2)})`,
      ratio: `${(m / b).toFixed(2)}×`,
      goal: 'report',
      met: '—',
    })
  }
  return rows
}
