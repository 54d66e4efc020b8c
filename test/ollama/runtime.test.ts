/**
 * The Ollama runtime against the test double: streaming, logprobs, options, abort, concurrency,
 * status, and the extra model-manager methods.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { readFileSync, readdirSync } from 'node:fs'
import { Ollama } from 'ollama'
import type { GenerateRequest, StreamPart } from '../../src/engine/runtime.js'
import { createOllama, normalizeHost, type OllamaRuntime } from '../../src/runtimes/ollama/index.js'
import {
  defaultReply,
  startOllamaTestServer,
  tokenize,
  tokenLogprob,
  type OllamaTestServer,
} from '../support/ollama-server.js'
import { collect, ofType, texts, until } from './helpers.js'

let server: OllamaTestServer
let rt: OllamaRuntime

beforeEach(async () => {
  server = await startOllamaTestServer({
    models: [
      { name: 'llama3.2:1b', size: 1_000_000 },
      { name: 'qwen2.5:7b', size: 4_000_000 },
    ],
  })
  rt = createOllama({ host: server.url })
})
afterEach(async () => {
  await rt.dispose?.()
  await server.close()
})

const PROMPT = 'Why is the sky blue at noon?'
const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: 'llama3.2:1b',
  prompt: PROMPT,
  options: {},
  ...over,
})

describe('generate', () => {
  test('streams every token with its logprob, then finish with usage from Ollama', async () => {
    const tokens = tokenize(defaultReply('llama3.2:1b', PROMPT))
    const parts = await collect(rt.generate(req({ logprobs: true, system: 'Be brief.' })))
    expect(parts).toHaveLength(tokens.length + 1)
    expect(parts.slice(0, -1)).toEqual(
      tokens.map((text, i) => ({ type: 'text-delta', text, logprob: tokenLogprob('llama3.2:1b', i, text) })),
    )
    expect(parts[parts.length - 1]).toEqual({
      type: 'finish',
      reason: 'stop',
      usage: {
        promptTokens: tokenize('Be brief.').length + tokenize(PROMPT).length + 7,
        completionTokens: tokens.length,
      },
    })
  })

  test('sends a chat request with system + user messages, mapped options, keep_alive and logprobs', async () => {
    await collect(
      rt.generate(
        req({
          system: 'Be brief.',
          logprobs: true,
          keepAlive: '10m',
          options: { max_tokens: 7, num_ctx: 2048, temperature: 0.2, top_p: 0.9, top_k: 40, seed: 42, stop: ['\n\n'] },
        }),
      ),
    )
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/chat'])
    expect(server.requests[0]!.body).toEqual({
      model: 'llama3.2:1b',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: PROMPT },
      ],
      stream: true,
      options: { num_predict: 7, num_ctx: 2048, temperature: 0.2, top_p: 0.9, top_k: 40, seed: 42, stop: ['\n\n'] },
      keep_alive: '10m',
      logprobs: true,
      top_logprobs: 0,
    })
  })

  test('without logprobs: no logprob on parts, none asked for, no system message', async () => {
    const parts = await collect(rt.generate(req()))
    for (const p of ofType(parts, 'text-delta')) expect('logprob' in p).toBe(false)
    const body = server.requests[0]!.body as Record<string, unknown>
    expect(body.messages).toEqual([{ role: 'user', content: PROMPT }])
    expect('logprobs' in body).toBe(false)
    expect('options' in body).toBe(false)
  })

  test('max_tokens cuts the stream: finish reason length with that many tokens', async () => {
    const parts = await collect(rt.generate(req({ options: { max_tokens: 5 } })))
    expect(texts(parts)).toEqual(tokenize(defaultReply('llama3.2:1b', PROMPT)).slice(0, 5))
    expect(parts[parts.length - 1]).toMatchObject({ type: 'finish', reason: 'length', usage: { completionTokens: 5 } })
  })

  test('a delta of several tokens gets the SUM of their logprobs; logprobs of empty chunks carry over', async () => {
    const lines = [
      { message: { role: 'assistant', content: 'Hel' }, done: false, logprobs: [{ token: 'Hel', logprob: -0.5 }] },
      { message: { role: 'assistant', content: '' }, done: false, logprobs: [{ token: 'l', logprob: -0.25 }] },
      {
        message: { role: 'assistant', content: 'lo world' },
        done: false,
        logprobs: [
          { token: 'o', logprob: -0.125 },
          { token: ' world', logprob: -0.0625 },
        ],
      },
      { message: { role: 'assistant', content: '!' }, done: false },
      {
        message: { role: 'assistant', content: '' },
        done: true,
        done_reason: 'stop',
        eval_count: 5,
        prompt_eval_count: 3,
      },
    ]
    const fake: typeof fetch = async () =>
      new Response(lines.map((l) => JSON.stringify({ model: 'm', created_at: '', ...l })).join('\n') + '\n', {
        headers: { 'content-type': 'application/x-ndjson' },
      })
    const parts = await collect(createOllama({ host: 'http://fake:1', fetch: fake }).generate(req({ logprobs: true })))
    expect(parts).toEqual([
      { type: 'text-delta', text: 'Hel', logprob: -0.5 },
      { type: 'text-delta', text: 'lo world', logprob: -0.4375 },
      { type: 'text-delta', text: '!' },
      { type: 'finish', reason: 'stop', usage: { promptTokens: 3, completionTokens: 5 } },
    ])
  })
})

describe('abort', () => {
  test('aborting mid-stream ends promptly with finish(abort), and the server sees the socket close', async () => {
    server.setOptions({ tokenDelayMs: 30, tokens: 300 })
    const ac = new AbortController()
    const parts: StreamPart[] = []
    let abortedAt = 0
    const done = (async () => {
      for await (const p of rt.generate(req({ signal: ac.signal }))) {
        parts.push(p)
        if (parts.length === 3) {
          abortedAt = Date.now()
          ac.abort()
        }
      }
    })()
    await done
    const elapsed = Date.now() - abortedAt
    expect(elapsed).toBeLessThan(500)
    expect(parts.map((p) => p.type)).toEqual(['text-delta', 'text-delta', 'text-delta', 'finish'])
    expect(parts[3]).toEqual({ type: 'finish', reason: 'abort', usage: { completionTokens: 3 } })
    const rec = server.requests[0]!
    await until(() => rec.closed, 2000, 'the server to see the close')
    expect(rec.aborted).toBe(true)
    expect(rec.tokensSent).toBeLessThan(10)
  })

  test('aborting while waiting for the first token ends promptly', async () => {
    server.setFault({ kind: 'slow-first-token', delayMs: 10_000 })
    const ac = new AbortController()
    setTimeout(() => ac.abort(), 150)
    const t0 = Date.now()
    const parts = await collect(rt.generate(req({ signal: ac.signal })), 3000)
    expect(Date.now() - t0).toBeLessThan(1000)
    expect(parts).toEqual([{ type: 'finish', reason: 'abort', usage: { completionTokens: 0 } }])
    await until(() => server.requests[0]!.closed, 2000, 'the server to see the close')
    expect(server.requests[0]!.aborted).toBe(true)
  })

  test('an already-aborted signal sends nothing', async () => {
    const parts = await collect(rt.generate(req({ signal: AbortSignal.abort() })))
    expect(parts).toEqual([{ type: 'finish', reason: 'abort', usage: { completionTokens: 0 } }])
    expect(server.requests).toHaveLength(0)
  })

  test('a consumer that stops iterating (break) closes the request', async () => {
    server.setOptions({ tokenDelayMs: 20, tokens: 300 })
    let n = 0
    for await (const p of rt.generate(req())) {
      if (p.type === 'text-delta' && ++n === 2) break
    }
    const rec = server.requests[0]!
    await until(() => rec.closed, 2000, 'the server to see the close')
    expect(rec.aborted).toBe(true)
  })

  test('aborting one generation leaves a concurrent one running (per-request abort)', async () => {
    server.setOptions({ tokenDelayMs: 10 })
    const ac = new AbortController()
    const a = collect(rt.generate(req({ signal: ac.signal, options: {} })))
    const b = collect(rt.generate(req({ model: 'qwen2.5:7b' })))
    setTimeout(() => ac.abort(), 60)
    const [pa, pb] = await Promise.all([a, b])
    expect(pa[pa.length - 1]).toMatchObject({ type: 'finish', reason: 'abort' })
    expect(texts(pb).join('')).toBe(defaultReply('qwen2.5:7b', PROMPT))
    expect(pb[pb.length - 1]).toMatchObject({ type: 'finish', reason: 'stop' })
  })
})

describe('concurrency', () => {
  test('two concurrent generations interleave their tokens and both complete', async () => {
    server.setOptions({ tokenDelayMs: 15 })
    const order: string[] = []
    const run = async (model: string): Promise<StreamPart[]> => {
      const parts: StreamPart[] = []
      for await (const p of rt.generate(req({ model }))) {
        parts.push(p)
        if (p.type === 'text-delta') order.push(model)
      }
      return parts
    }
    const [a, b] = await Promise.all([run('llama3.2:1b'), run('qwen2.5:7b')])
    expect(texts(a).join('')).toBe(defaultReply('llama3.2:1b', PROMPT))
    expect(texts(b).join('')).toBe(defaultReply('qwen2.5:7b', PROMPT))
    // interleaved: the first half of each stream arrives before the other stream ends
    const lastA = order.lastIndexOf('llama3.2:1b')
    const lastB = order.lastIndexOf('qwen2.5:7b')
    const halfA = order.indexOf('llama3.2:1b') + Math.floor(texts(a).length / 2)
    expect(order.indexOf('qwen2.5:7b')).toBeLessThan(halfA)
    expect(order.indexOf('llama3.2:1b')).toBeLessThan(lastB)
    expect(order.indexOf('qwen2.5:7b')).toBeLessThan(lastA)
    let switches = 0
    for (let i = 1; i < order.length; i++) if (order[i] !== order[i - 1]) switches++
    expect(switches).toBeGreaterThan(10)
  })
})

describe('status and model management', () => {
  test('status: version and models', async () => {
    expect(await rt.status()).toEqual({
      runtime: 'ollama',
      ok: true,
      where: server.url,
      detail: 'Ollama 0.12.6 with 2 models',
      models: ['llama3.2:1b', 'qwen2.5:7b'],
      sizes: { 'llama3.2:1b': 1_000_000, 'qwen2.5:7b': 4_000_000 },
    })
  })

  test('status of a hung server gives up after statusTimeoutMs', async () => {
    server.setFault({ kind: 'hang' })
    const quick = createOllama({ host: server.url, statusTimeoutMs: 300 })
    const t0 = Date.now()
    const st = await quick.status()
    expect(Date.now() - t0).toBeLessThan(1500)
    expect(st).toEqual({
      runtime: 'ollama',
      ok: false,
      where: server.url,
      detail: `Ollama at ${server.url} did not answer within 0.3 s. Check that it is running and not overloaded.`,
    })
  })

  test('listLoaded() and unload() use /api/ps and keep_alive 0', async () => {
    expect(await rt.listLoaded()).toEqual([])
    await collect(rt.generate(req({ keepAlive: '5m' })))
    const loaded = await rt.listLoaded()
    expect(loaded).toEqual([{ model: 'llama3.2:1b', sizeBytes: 1_000_000, expiresAt: expect.any(Date) }])
    expect(loaded[0]!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 240_000)
    expect(loaded[0]!.expiresAt!.getTime()).toBeLessThanOrEqual(Date.now() + 300_000)
    await rt.unload('llama3.2:1b')
    expect(server.requests[server.requests.length - 1]!.body).toEqual({
      model: 'llama3.2:1b',
      prompt: '',
      keep_alive: 0,
      stream: false,
    })
    expect(await rt.listLoaded()).toEqual([])
    await expect(rt.unload('nope:1b')).rejects.toMatchObject({
      code: 'MODEL_MISSING',
      message: `model nope:1b is not on the Ollama server at ${server.url}`,
    })
  })
})

/** the client, showing the host it normalised (its `config` is protected) */
class HostOf extends Ollama {
  get host(): string {
    return this.config.host
  }
}

describe('host and loading', () => {
  test('hosts are normalised exactly like the ollama client does', () => {
    for (const h of [
      'localhost',
      'localhost:8080',
      ':9000',
      'http://example.com',
      'https://example.com',
      'https://h:8443/',
      '10.0.0.2',
      'http://u:p@host:1/path/',
    ]) {
      expect([h, normalizeHost(h)]).toEqual([h, new HostOf({ host: h }).host])
    }
    expect(normalizeHost(undefined)).toBe('http://127.0.0.1:11434')
  })

  test('the host is the one given (normalised), else the default; OLLAMA_HOST is read by setup only', async () => {
    expect(createOllama({ host: '0.0.0.0' }).host).toBe('http://0.0.0.0:11434')
    const before = process.env.OLLAMA_HOST
    try {
      process.env.OLLAMA_HOST = 'http://elsewhere:1234'
      expect(createOllama().host).toBe('http://127.0.0.1:11434')
      // setup turns the flag, then OLLAMA_HOST, then config into the runtime's host
      const { setup } = await import('../../src/cli/setup.js')
      const env = { MIRADOR_HOME: '/nonexistent-mirador-home', OLLAMA_HOST: 'http://studio.local:11434' }
      const s = await setup({ env })
      expect((s.engine.runtime('ollama') as ReturnType<typeof createOllama>).host).toBe('http://studio.local:11434')
      const flagged = await setup({ env, host: 'http://laptop:11434' })
      expect((flagged.engine.runtime('ollama') as ReturnType<typeof createOllama>).host).toBe('http://laptop:11434')
    } finally {
      if (before === undefined) delete process.env.OLLAMA_HOST
      else process.env.OLLAMA_HOST = before
    }
  })

  test('the runtime imports the ollama package only lazily', () => {
    const dir = new URL('../../src/runtimes/ollama/', import.meta.url)
    for (const f of readdirSync(dir)) {
      const src = readFileSync(new URL(f, dir), 'utf8')
      const staticImports = src.match(/^import (?!type ).*from ['"]ollama['"]/gm) ?? []
      expect([f, staticImports]).toEqual([f, []])
    }
  })
})
