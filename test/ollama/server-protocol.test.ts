/**
 * The Ollama test double, driven by the real `ollama` npm client: every endpoint, streamed and
 * not, with logprobs, and the fault modes as the bare client sees them.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { Ollama } from 'ollama'
import { createHash } from 'node:crypto'
import {
  adaptedReply,
  defaultReply,
  plannedTokens,
  startOllamaTestServer,
  tokenize,
  tokenLogprob,
  unusedPort,
  type OllamaTestServer,
} from '../support/ollama-server.js'
import { until } from './helpers.js'

let server: OllamaTestServer
let client: Ollama

beforeEach(async () => {
  server = await startOllamaTestServer({
    models: [
      { name: 'llama3.2:1b', size: 1_000_000 },
      { name: 'qwen2.5:7b', size: 4_000_000, family: 'qwen2' },
      { name: 'phi3:mini', size: 2_000_000, present: false },
    ],
  })
  client = new Ollama({ host: server.url })
})
afterEach(async () => {
  await server.close()
})

const PROMPT = 'Why is the sky blue at noon?'
const REPLY = defaultReply('llama3.2:1b', PROMPT)
const TOKENS = tokenize(REPLY)

describe('deterministic generation helpers', () => {
  test('the default reply quotes the last words and tokenizes into word-ish pieces', () => {
    expect(REPLY).toContain('You asked about "sky blue at noon"')
    expect(REPLY).toContain('llama3.2:1b would start')
    expect(TOKENS.join('')).toBe(REPLY)
    expect(TOKENS).toContain(' answer')
    expect(TOKENS.every((t) => t.trim().length > 0)).toBe(true)
    expect(tokenize('Hello, world.')).toEqual(['Hello', ',', ' world', '.'])
  })

  test('logprobs are fixed per model, position and token, within [-2.5, -0.01]', () => {
    const lps = TOKENS.map((t, i) => tokenLogprob('llama3.2:1b', i, t))
    expect(lps.every((x) => x <= -0.01 && x >= -2.5)).toBe(true)
    expect(tokenLogprob('llama3.2:1b', 3, ' x')).toBe(tokenLogprob('llama3.2:1b', 3, ' x'))
    expect(new Set(lps).size).toBeGreaterThan(TOKENS.length / 2)
  })

  test('plannedTokens cycles to `tokens` and cuts at num_predict', () => {
    expect(plannedTokens('One two three.', { tokens: 6 }).tokens).toEqual([
      'One',
      ' two',
      ' three',
      '.',
      ' One',
      ' two',
    ])
    expect(plannedTokens('One two three.', { numPredict: 2 })).toEqual({ tokens: ['One', ' two'], reason: 'length' })
    expect(plannedTokens('One two three.', { numPredict: -1 }).reason).toBe('stop')
  })
})

describe('read-only endpoints', () => {
  test('GET / says Ollama is running', async () => {
    const res = await fetch(server.url + '/')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('Ollama is running')
  })

  test('version, tags (present models only), show', async () => {
    expect(await client.version()).toEqual({ version: '0.12.6' })
    const tags = await client.list()
    expect(tags.models.map((m) => m.name)).toEqual(['llama3.2:1b', 'qwen2.5:7b'])
    expect(tags.models[1]).toMatchObject({
      model: 'qwen2.5:7b',
      size: 4_000_000,
      details: { family: 'qwen2', format: 'gguf' },
    })
    expect(tags.models[0]!.digest).toMatch(/^[0-9a-f]{64}$/)
    const show = await client.show({ model: 'llama3.2:1b' })
    expect(show.details.family).toBe('llama')
    expect(show.model_info).toHaveProperty(['llama.context_length'], 131072)
    expect(show.capabilities).toEqual(['completion'])
  })

  test("show of an unknown model is a 404 ResponseError in Ollama's words", async () => {
    const err = (await client.show({ model: 'nope' }).catch((e: unknown) => e)) as {
      name: string
      status_code: number
      message: string
    }
    expect(err.name).toBe('ResponseError')
    expect(err.status_code).toBe(404)
    expect(err.message).toBe("model 'nope' not found")
  })

  test('unknown paths answer 404 text like Ollama (gin)', async () => {
    const res = await fetch(server.url + '/api/nothing')
    expect(res.status).toBe(404)
    expect(await res.text()).toBe('404 page not found')
  })
})

describe('chat', () => {
  test('streams one chunk per token with logprobs, then a final done line with counts', async () => {
    const stream = await client.chat({
      model: 'llama3.2:1b',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: PROMPT },
      ],
      stream: true,
      logprobs: true,
      top_logprobs: 3,
    })
    const chunks = []
    for await (const c of stream) chunks.push(c)
    expect(chunks).toHaveLength(TOKENS.length + 1)
    const body = chunks.slice(0, -1)
    expect(body.map((c) => c.message.content)).toEqual(TOKENS)
    body.forEach((c, i) => {
      expect(c.done).toBe(false)
      expect(c.logprobs).toHaveLength(1)
      const lp = c.logprobs![0]! as { token: string; logprob: number; bytes: number[]; top_logprobs: unknown[] }
      expect(lp.token).toBe(TOKENS[i])
      expect(lp.logprob).toBe(tokenLogprob('llama3.2:1b', i, TOKENS[i]!))
      expect(Buffer.from(lp.bytes).toString('utf8')).toBe(TOKENS[i])
      expect(lp.top_logprobs).toHaveLength(3)
      expect(lp.top_logprobs[0]).toEqual({ token: TOKENS[i], logprob: lp.logprob })
    })
    const last = chunks[chunks.length - 1]!
    expect(last).toMatchObject({ done: true, done_reason: 'stop', eval_count: TOKENS.length, message: { content: '' } })
    expect(last.prompt_eval_count).toBe(tokenize('Be brief.').length + tokenize(PROMPT).length + 7)
    expect(last.total_duration).toBeGreaterThan(0)
    expect(last.logprobs).toBeUndefined()
    const rec = server.requests.find((r) => r.path === '/api/chat')!
    expect(rec).toMatchObject({ method: 'POST', finished: true, aborted: false, tokensSent: TOKENS.length })
    expect(rec.body).toMatchObject({ model: 'llama3.2:1b', stream: true, logprobs: true, top_logprobs: 3 })
  })

  test('without logprobs the chunks carry none', async () => {
    const stream = await client.chat({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
    })
    for await (const c of stream) expect(c.logprobs).toBeUndefined()
  })

  test('non-streamed: one object with the whole reply and every logprob', async () => {
    const res = await client.chat({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: PROMPT }],
      logprobs: true,
    })
    expect(res.message).toEqual({ role: 'assistant', content: REPLY })
    expect(res.done_reason).toBe('stop')
    expect(res.logprobs!.map((l) => l.token)).toEqual(TOKENS)
  })

  test('options.num_predict cuts the reply with done_reason length; `tokens` forces a length', async () => {
    const res = await client.chat({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: PROMPT }],
      options: { num_predict: 5 },
    })
    expect(res.message.content).toBe(TOKENS.slice(0, 5).join(''))
    expect(res).toMatchObject({ done_reason: 'length', eval_count: 5 })
    server.setOptions({ tokens: 100 })
    const long = await client.chat({ model: 'llama3.2:1b', messages: [{ role: 'user', content: PROMPT }] })
    expect(long.eval_count).toBe(100)
    expect(long.done_reason).toBe('stop')
  })

  test('an unknown model is a 404 with "try pulling it first"', async () => {
    const err = (await client
      .chat({ model: 'nope:1b', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((e: unknown) => e)) as { name: string; status_code: number; message: string }
    expect(err.name).toBe('ResponseError')
    expect(err.status_code).toBe(404)
    expect(err.message).toBe('model "nope:1b" not found, try pulling it first')
  })

  test('a model name without a tag means :latest', async () => {
    server.addModel({ name: 'mistral' })
    const res = await client.chat({ model: 'mistral:latest', messages: [{ role: 'user', content: 'x' }] })
    expect(res.done).toBe(true)
  })
})

describe('generate', () => {
  test('streams `response` pieces and ends with a context', async () => {
    const stream = await client.generate({ model: 'qwen2.5:7b', prompt: PROMPT, stream: true, logprobs: true })
    const chunks = []
    for await (const c of stream) chunks.push(c)
    const tokens = tokenize(defaultReply('qwen2.5:7b', PROMPT))
    expect(chunks.slice(0, -1).map((c) => c.response)).toEqual(tokens)
    expect(chunks[0]!.logprobs![0]!.logprob).toBe(tokenLogprob('qwen2.5:7b', 0, tokens[0]!))
    expect(chunks[chunks.length - 1]).toMatchObject({ done: true, done_reason: 'stop', eval_count: tokens.length })
    expect(Array.isArray(chunks[chunks.length - 1]!.context)).toBe(true)
  })

  test('non-streamed, with a custom reply', async () => {
    server.addModel({ name: 'echo:1b', reply: (p) => `echo: ${p}` })
    const res = await client.generate({ model: 'echo:1b', prompt: 'ping pong' })
    expect(res.response).toBe('echo: ping pong')
    expect(res.eval_count).toBe(4)
  })
})

describe('keep_alive and /api/ps', () => {
  test('a generation loads the model for keep_alive; keep_alive 0 unloads it after', async () => {
    expect(server.loaded()).toEqual([])
    expect((await client.ps()).models).toEqual([])
    const before = Date.now()
    await client.chat({ model: 'llama3.2:1b', messages: [{ role: 'user', content: 'hi' }], keep_alive: '10m' })
    const ps = await client.ps()
    expect(ps.models.map((m) => m.name)).toEqual(['llama3.2:1b'])
    const expires = new Date(ps.models[0]!.expires_at).getTime()
    expect(expires).toBeGreaterThanOrEqual(before + 600_000 - 1000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 600_000 + 1000)
    await client.chat({ model: 'qwen2.5:7b', messages: [{ role: 'user', content: 'hi' }], keep_alive: 0 })
    expect(server.loaded().map((m) => m.name)).toEqual(['llama3.2:1b'])
  })

  test('empty messages load; empty prompt with keep_alive 0 unloads (done_reason load/unload)', async () => {
    const load = await client.chat({ model: 'qwen2.5:7b', messages: [] })
    expect(load).toMatchObject({ done: true, done_reason: 'load' })
    expect(server.loaded().map((m) => m.name)).toEqual(['qwen2.5:7b'])
    const unload = await client.generate({ model: 'qwen2.5:7b', prompt: '', keep_alive: 0 })
    expect(unload).toMatchObject({ done: true, done_reason: 'unload', response: '' })
    expect(server.loaded()).toEqual([])
  })

  test('a negative keep_alive keeps the model forever', async () => {
    await client.generate({ model: 'llama3.2:1b', prompt: 'x', keep_alive: -1 })
    expect(server.loaded()[0]!.expiresAt.getTime()).toBeGreaterThan(Date.now() + 1e12)
  })
})

describe('embed', () => {
  test('unit vectors, one per input, equal for equal texts', async () => {
    const res = await client.embed({ model: 'llama3.2:1b', input: ['the sky is blue', 'the sky is blue', 'grass'] })
    expect(res.model).toBe('llama3.2:1b')
    expect(res.embeddings).toHaveLength(3)
    for (const v of res.embeddings) {
      expect(v).toHaveLength(32)
      expect(Math.hypot(...v)).toBeCloseTo(1, 5)
    }
    expect(res.embeddings[0]).toEqual(res.embeddings[1])
    expect(res.embeddings[0]).not.toEqual(res.embeddings[2])
    const one = await client.embed({ model: 'llama3.2:1b', input: 'the sky is blue' })
    expect(one.embeddings).toEqual([res.embeddings[0]])
  })

  test('legacy /api/embeddings and the 404 for unknown models', async () => {
    const legacy = await client.embeddings({ model: 'llama3.2:1b', prompt: 'the sky is blue' })
    expect(legacy.embedding).toHaveLength(32)
    const err = (await client.embed({ model: 'nope', input: 'x' }).catch((e: unknown) => e)) as { status_code: number }
    expect(err.status_code).toBe(404)
  })
})

describe('pull and delete', () => {
  test('streams manifest, per-layer progress with rising `completed`, verify, write, success', async () => {
    const chat = await client
      .chat({ model: 'phi3:mini', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e)
    expect((chat as { status_code: number }).status_code).toBe(404)
    const stream = await client.pull({ model: 'phi3:mini', stream: true })
    const lines = []
    for await (const p of stream) lines.push(p)
    const statuses = lines.map((l) => l.status)
    expect(statuses[0]).toBe('pulling manifest')
    expect(statuses.slice(-3)).toEqual(['verifying sha256 digest', 'writing manifest', 'success'])
    const layerLines = lines.filter((l) => l.status.startsWith('pulling ') && l.status !== 'pulling manifest')
    expect(layerLines).toHaveLength(3 * 4)
    const byDigest = new Map<string, number[]>()
    for (const l of layerLines) {
      expect(l.status).toBe(`pulling ${l.digest.slice(7, 19)}`)
      if (l.completed !== undefined) byDigest.set(l.digest, [...(byDigest.get(l.digest) ?? []), l.completed])
    }
    expect(byDigest.size).toBe(3)
    for (const [digest, done] of byDigest) {
      const total = layerLines.find((l) => l.digest === digest)!.total
      expect(done).toEqual([...done].sort((a, b) => a - b))
      expect(done[done.length - 1]).toBe(total)
    }
    expect(server.present()).toContain('phi3:mini')
    const res = await client.chat({ model: 'phi3:mini', messages: [{ role: 'user', content: 'x' }] })
    expect(res.done).toBe(true)
  })

  test('non-streamed pull answers {status: success}; an unknown model fails like Ollama', async () => {
    expect(await client.pull({ model: 'phi3:mini' })).toEqual({ status: 'success' })
    const nonStream = (await client.pull({ model: 'nosuch:1b' }).catch((e: unknown) => e)) as {
      status_code: number
      message: string
    }
    expect([nonStream.status_code, nonStream.message]).toEqual([500, 'pull model manifest: file does not exist'])
    const stream = await client.pull({ model: 'nosuch:1b', stream: true })
    const seen: string[] = []
    const err = await (async () => {
      for await (const p of stream) seen.push(p.status)
    })().catch((e: unknown) => e)
    expect(seen).toEqual(['pulling manifest'])
    expect((err as Error).message).toBe('pull model manifest: file does not exist')
  })

  test('delete removes a model; deleting an unknown one is a 404', async () => {
    await client.delete({ model: 'qwen2.5:7b' })
    expect(server.present()).toEqual(['llama3.2:1b'])
    const err = (await client.delete({ model: 'qwen2.5:7b' }).catch((e: unknown) => e)) as { status_code: number }
    expect(err.status_code).toBe(404)
  })
})

describe('blobs and create', () => {
  const ADAPTER = Buffer.from('GGUF' + 'adapter weights '.repeat(64), 'latin1')
  const DIGEST = `sha256:${createHash('sha256').update(ADAPTER).digest('hex')}`
  const blob = (digest: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${server.url}/api/blobs/${digest}`, init)

  test('HEAD 404s until the blob is pushed; POST stores it (201), then 200 without storing again', async () => {
    expect((await blob(DIGEST, { method: 'HEAD' })).status).toBe(404)
    const created = await blob(DIGEST, { method: 'POST', body: ADAPTER })
    expect(created.status).toBe(201)
    expect(await created.text()).toBe('')
    expect((await blob(DIGEST, { method: 'HEAD' })).status).toBe(200)
    expect((await blob(DIGEST, { method: 'POST', body: ADAPTER })).status).toBe(200)
    expect(server.blobs()).toEqual([DIGEST])
    expect(server.blobUploads).toEqual([
      { digest: DIGEST, bytes: ADAPTER.length, status: 201 },
      { digest: DIGEST, bytes: ADAPTER.length, status: 200 },
    ])
    const rec = server.requests.find((r) => r.method === 'POST' && r.path.startsWith('/api/blobs/'))!
    expect([rec.body, rec.bytes]).toEqual([undefined, ADAPTER.length])
  })

  test("a body that does not match the digest is refused with 400 and Ollama's words; a bad digest too", async () => {
    const other = Buffer.from('something else')
    const got = `sha256:${createHash('sha256').update(other).digest('hex')}`
    const res = await blob(DIGEST, { method: 'POST', body: other })
    expect(res.status).toBe(400)
    expect(await res.json()).toEqual({ error: `digest mismatch, expected "${DIGEST}", got "${got}"` })
    expect(server.blobs()).toEqual([])
    const bad = await blob('sha256:abc', { method: 'POST', body: other })
    expect([bad.status, await bad.json()]).toEqual([400, { error: 'invalid digest format' }])
    expect((await blob('md5:abc', { method: 'HEAD' })).status).toBe(400)
  })

  test("create from base + adapter streams Ollama's status; the model is listed, bigger, replies marked", async () => {
    server.addBlob(ADAPTER)
    const stream = await client.create({
      model: 'mirador-tone:abc123',
      from: 'llama3.2:1b',
      adapters: { 'tone.gguf': DIGEST },
      stream: true,
    })
    const statuses: string[] = []
    for await (const p of stream) statuses.push(p.status)
    const layer = (what: string): string =>
      `using existing layer sha256:${createHash('sha256').update(`llama3.2:1b/${what}`).digest('hex')}`
    expect(statuses).toEqual([
      'parsing GGUF',
      layer('weights'),
      layer('template'),
      layer('params'),
      `creating new layer ${DIGEST}`,
      'writing manifest',
      'success',
    ])
    expect(server.creates).toEqual([
      {
        model: 'mirador-tone:abc123',
        from: 'llama3.2:1b',
        adapters: { 'tone.gguf': DIGEST },
        stream: true,
        outcome: 'success',
      },
    ])
    const tags = await client.list()
    const made = tags.models.find((m) => m.name === 'mirador-tone:abc123')!
    expect(made.size).toBe(1_000_000 + ADAPTER.length)
    expect(made.details.parent_model).toBe('llama3.2:1b')
    const show = await client.show({ model: 'mirador-tone:abc123' })
    expect(show.modelfile).toContain(`FROM llama3.2:1b\nADAPTER /root/.ollama/models/blobs/sha256-${DIGEST.slice(7)}\n`)

    const base = await client.generate({ model: 'llama3.2:1b', prompt: PROMPT })
    const derived = await client.generate({ model: 'mirador-tone:abc123', prompt: PROMPT })
    expect(base.response).toBe(REPLY)
    expect(derived.response).toBe(adaptedReply(defaultReply('mirador-tone:abc123', PROMPT), ['tone.gguf']))
    expect(derived.response).not.toBe(base.response)
  })

  test('non-streamed create answers one {status: success}', async () => {
    server.addBlob(ADAPTER)
    expect(await client.create({ model: 'x:1', from: 'llama3.2:1b', adapters: { 'a.gguf': DIGEST } })).toEqual({
      status: 'success',
    })
    expect(server.present()).toContain('x:1')
  })

  test('create refuses what Ollama refuses, before streaming', async () => {
    const fail = async (req: Record<string, unknown>): Promise<[number, string]> => {
      const err = (await client.create(req as never).catch((e: unknown) => e)) as {
        status_code: number
        message: string
      }
      return [err.status_code, err.message]
    }
    expect(await fail({ model: 'x:1', from: 'phi3:mini', adapters: {} })).toEqual([
      404,
      'model "phi3:mini" not found, try pulling it first',
    ])
    expect(await fail({ model: 'x:1', adapters: {} })).toEqual([400, "neither 'from' or 'files' was specified"])
    expect(await fail({ model: 'bad name!', from: 'llama3.2:1b' })).toEqual([400, 'invalid model name'])
    expect(await fail({ model: 'x:1', from: 'llama3.2:1b', adapters: { 'a.gguf': DIGEST } })).toEqual([
      400,
      `open /root/.ollama/models/blobs/sha256-${DIGEST.slice(7)}: no such file or directory`,
    ])
    const second = server.addBlob('GGUF second')
    server.addBlob(ADAPTER)
    expect(await fail({ model: 'x:1', from: 'llama3.2:1b', adapters: { 'a.gguf': DIGEST, 'b.gguf': second } })).toEqual(
      [400, 'only one adapter is currently supported'],
    )
    expect(await fail({ model: 'x:1', from: 'llama3.2:1b', adapters: { 'a.lora': DIGEST } })).toEqual([
      400,
      'unknown type',
    ])
    expect(server.present()).not.toContain('x:1')
    expect(server.creates.map((c) => c.outcome)).toEqual([
      { error: 'model "phi3:mini" not found, try pulling it first', status: 404 },
      { error: "neither 'from' or 'files' was specified", status: 400 },
      { error: 'invalid model name', status: 400 },
      { error: `open /root/.ollama/models/blobs/sha256-${DIGEST.slice(7)}: no such file or directory`, status: 400 },
      { error: 'only one adapter is currently supported', status: 400 },
      { error: 'unknown type', status: 400 },
    ])
  })

  test('a safetensors adapter (weights + config) converts', async () => {
    const w = server.addBlob('safetensors weights')
    const c = server.addBlob('{"lora_alpha": 16}')
    const stream = await client.create({
      model: 'st:1',
      from: 'llama3.2:1b',
      adapters: { 'adapter_model.safetensors': w, 'adapter_config.json': c },
      stream: true,
    })
    const statuses: string[] = []
    for await (const p of stream) statuses.push(p.status)
    expect(statuses[0]).toBe('converting adapter')
    expect(statuses.slice(-2)).toEqual(['writing manifest', 'success'])
  })

  test('the load call: no prompt loads the created model into /api/ps for keep_alive, which then expires', async () => {
    server.addBlob(ADAPTER)
    await client.create({ model: 'x:1', from: 'llama3.2:1b', adapters: { 'a.gguf': DIGEST } })
    const load = await client.generate({ model: 'x:1', prompt: '', keep_alive: 0.3 })
    expect(load).toMatchObject({ model: 'x:1', done: true, done_reason: 'load', response: '' })
    const ps = await client.ps()
    expect(ps.models.map((m) => [m.name, m.size])).toEqual([['x:1', 1_000_000 + ADAPTER.length]])
    await new Promise((r) => setTimeout(r, 400))
    expect((await client.ps()).models).toEqual([])
  })

  test('aborting a create mid-stream leaves no model', async () => {
    server.addBlob(ADAPTER)
    server.setOptions({ createDelayMs: 100 })
    const stream = await client.create({
      model: 'x:1',
      from: 'llama3.2:1b',
      adapters: { 'a.gguf': DIGEST },
      stream: true,
    })
    const err = await (async () => {
      for await (const _ of stream) stream.abort()
    })().catch((e: unknown) => e)
    expect((err as Error).name).toBe('AbortError')
    const rec = server.requests.find((r) => r.path === '/api/create')!
    await until(() => rec.closed, 2000, 'the create to close')
    expect(rec.aborted).toBe(true)
    await new Promise((r) => setTimeout(r, 150))
    expect(server.present()).not.toContain('x:1')
    expect(server.creates).toEqual([])
  })
})

describe('faults as the bare client sees them', () => {
  test('http-error answers every /api call with the status and Ollama-style error body', async () => {
    server.setFault({ kind: 'http-error', status: 500, message: 'llama runner process has terminated' })
    const err = (await client.list().catch((e: unknown) => e)) as { status_code: number; message: string }
    expect([err.status_code, err.message]).toEqual([500, 'llama runner process has terminated'])
    server.setFault(null)
    expect((await client.list()).models).toHaveLength(2)
  })

  test('malformed-line: the bare client just warns, skips the line (why the runtime checks lines itself)', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => {})
    try {
      server.setFault({ kind: 'malformed-line', afterTokens: 2 })
      const stream = await client.chat({
        model: 'llama3.2:1b',
        messages: [{ role: 'user', content: PROMPT }],
        stream: true,
      })
      let n = 0
      for await (const c of stream) if (!c.done) n++
      expect(n).toBe(TOKENS.length)
      expect(warn).toHaveBeenCalledWith('invalid json: ', 'this is not JSON {"done":')
    } finally {
      warn.mockRestore()
    }
  })

  test('drop-mid-stream: the socket closes after N tokens and iteration rejects', async () => {
    server.setFault({ kind: 'drop-mid-stream', afterTokens: 3 })
    const stream = await client.chat({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
    })
    const got: string[] = []
    const err = await (async () => {
      for await (const c of stream) got.push(c.message.content)
    })().catch((e: unknown) => e)
    expect(got).toEqual(TOKENS.slice(0, 3))
    // undici's words for a body cut off mid-way (a TypeError from another realm: compare by name)
    expect([(err as Error).name, (err as Error).message]).toEqual(['TypeError', 'terminated'])
    const rec = server.requests.find((r) => r.path === '/api/chat')!
    await until(() => rec.closed, 2000, 'the server to close the socket')
    expect(rec).toMatchObject({ tokensSent: 3, finished: false, aborted: true })
  })

  test('slow-first-token delays only the first token', async () => {
    server.setFault({ kind: 'slow-first-token', delayMs: 300 })
    const t0 = Date.now()
    await client.chat({ model: 'llama3.2:1b', messages: [{ role: 'user', content: 'x' }] })
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290)
  })

  test('hang accepts and never answers; close() still ends promptly', async () => {
    server.setFault({ kind: 'hang' })
    let settled = false
    const p = client.version().then(
      () => (settled = true),
      () => (settled = true),
    )
    await until(() => server.inFlight() === 1, 2000, 'the request to arrive')
    await new Promise((r) => setTimeout(r, 200))
    expect(settled).toBe(false)
    const t0 = Date.now()
    await server.close()
    expect(Date.now() - t0).toBeLessThan(1000)
    await p
    expect(settled).toBe(true)
    expect(server.connections()).toBe(0)
  })

  test('`only` limits a fault to some paths', async () => {
    server.setFault({ kind: 'http-error', status: 503, message: 'busy', only: ['/api/chat'] })
    expect((await client.list()).models).toHaveLength(2)
    const err = (await client.chat({ model: 'llama3.2:1b', messages: [] }).catch((e: unknown) => e)) as {
      status_code: number
    }
    expect(err.status_code).toBe(503)
  })
})

describe('observability', () => {
  test('an aborted stream shows on the server as a closed, unfinished request', async () => {
    server.setOptions({ tokenDelayMs: 20 })
    const stream = await client.chat({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: PROMPT }],
      stream: true,
    })
    let n = 0
    const err = await (async () => {
      for await (const _ of stream) if (++n === 2) stream.abort()
    })().catch((e: unknown) => e)
    expect((err as Error).name).toBe('AbortError')
    const rec = server.requests.find((r) => r.path === '/api/chat')!
    await until(() => rec.closed, 2000, 'the server to see the close')
    expect(rec.aborted).toBe(true)
    expect(rec.tokensSent).toBeLessThan(TOKENS.length)
  })

  test('unusedPort() has no listener: connection refused', async () => {
    const port = await unusedPort()
    const err = (await fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e)) as { cause?: { code?: string } }
    expect(err.cause?.code).toBe('ECONNREFUSED')
  })
})

describe('ollama-server-main (child process)', () => {
  test('prints its URL as one JSON line, serves, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        './test/support/ts-loader.mjs',
        'test/support/ollama-server-main.ts',
        '--port',
        '0',
        '--absent',
        'phi3:mini',
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] },
    )
    try {
      const rl = createInterface({ input: child.stdout! })
      let timer: ReturnType<typeof setTimeout> | undefined
      const [line] = (await Promise.race([
        once(rl, 'line'),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no URL line within 15 s')), 15_000))),
      ]).finally(() => clearTimeout(timer))) as [string]
      const info = JSON.parse(line) as { url: string; port: number; pid: number }
      expect(info.url).toBe(`http://127.0.0.1:${info.port}`)
      expect(info.pid).toBe(child.pid)
      const c = new Ollama({ host: info.url })
      expect((await c.list()).models.map((m) => m.name)).toEqual(['llama3.2:1b', 'qwen2.5:7b'])
      expect(await c.pull({ model: 'phi3:mini' })).toEqual({ status: 'success' })
      child.kill('SIGTERM')
      const [code] = (await once(child, 'exit')) as [number | null]
      expect(code).toBe(0)
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL')
    }
  }, 30_000)
})
