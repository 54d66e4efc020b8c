import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { promisify } from 'node:util'
import OpenAI from 'openai'
import { DEFAULT_MODELS, startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'
import { startServe, type ServeProcess } from '../support/serve.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
  deep: { runtime: ollama, base: "qwen2.5:7b" }
  slow: { runtime: ollama, base: "slow:1b" }
`
// the answer is `deep`'s, though `quick` is the last stage: the stream must follow `answer:`
const QUICK_DEEP = `name: quick-deep
answer: [deep, quick]
stages:
  deep:
    model: deep
    prompt: "Deeply: {{query}}"
  quick:
    model: quick
    prompt: "Briefly: {{query}}"
`
const SLOW = `name: slow
stages:
  only:
    model: slow
    prompt: "{{query}}"
`
const CONFIG = `serve:
  origins: ["http://localhost:3000"]
`
const QUERY = 'What should I focus on this week?'

let ollama: OllamaTestServer
let project: { dir: string; home: string }
let serve: ServeProcess
let client: OpenAI
let expected: string

const env = () => ({ MIRADOR_HOME: project.home, OLLAMA_HOST: ollama.url })

beforeAll(async () => {
  ollama = await startOllamaTestServer({
    tokenDelayMs: 2,
    models: [...DEFAULT_MODELS, { name: 'slow:1b', tokenDelayMs: 1000 }],
  })
  project = makeProject({
    'chains/quick-deep.yaml': QUICK_DEEP,
    'chains/slow.yaml': SLOW,
    'models/manifest.yaml': MANIFEST,
    'mirador.config.yaml': CONFIG,
  })
  const run = await runCli(['chain', 'run', 'quick-deep', QUERY, '--json'], { cwd: project.dir, env: env() })
  expect(run.code).toBe(0)
  expected = String(run.events.find((e) => e.type === 'done')?.answer)
  expect(expected.length).toBeGreaterThan(10)
  serve = await startServe([], { cwd: project.dir, env: env() })
  client = new OpenAI({ baseURL: serve.url, apiKey: 'unused', maxRetries: 0 })
}, 60_000)

afterAll(async () => {
  if (serve) expect(await serve.stop()).toBe(0)
  await ollama?.close()
})

/** A raw request, for the headers a fetch cannot set (Host). */
function raw(
  port: number,
  p: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers }, (res) => {
      let body = ''
      res.on('data', (d: Buffer) => (body += d.toString()))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 50))
  if (!check()) throw new Error(`never happened: ${what}`)
}

describe('mirador serve', () => {
  it('lists the chains as models', async () => {
    const ids = []
    for await (const m of client.models.list()) {
      expect(m.object).toBe('model')
      ids.push(m.id)
    }
    expect(ids).toEqual(expect.arrayContaining(['quick-deep', 'slow']))
  })

  it('answers a chat completion with what `chain run` answers, and its token counts', async () => {
    const r = await client.chat.completions.create({
      model: 'quick-deep',
      messages: [
        { role: 'system', content: 'ignored' },
        { role: 'user', content: QUERY },
      ],
    })
    expect(r.object).toBe('chat.completion')
    expect(r.choices[0]!.message.content).toBe(expected)
    expect(r.choices[0]!.finish_reason).toBe('stop')
    expect(r.usage!.completion_tokens).toBeGreaterThan(0)
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens)
  })

  it('streams the answer stage token by token, with the stage events in `mirador`', async () => {
    const stream = await client.chat.completions.create({
      model: 'quick-deep',
      messages: [{ role: 'user', content: QUERY }],
      stream: true,
    })
    let text = ''
    let deltas = 0
    const events: string[] = []
    for await (const c of stream) {
      expect(c.object).toBe('chat.completion.chunk')
      const content = c.choices[0]?.delta.content
      if (content) {
        text += content
        deltas++
      }
      const ext = 'mirador' in c ? (c.mirador as { type: string; stage?: string }) : undefined
      if (ext) events.push(ext.stage ? `${ext.type}:${ext.stage}` : ext.type)
    }
    expect(text.trim()).toBe(expected.trim())
    expect(deltas).toBeGreaterThan(3)
    expect(events).toEqual(expect.arrayContaining(['plan', 'stage-start:deep', 'stage-end:quick', 'done:deep']))
  })

  it('frames the stream as server-sent events ending in [DONE] (curl -N)', async () => {
    const body = JSON.stringify({ model: 'quick-deep', stream: true, messages: [{ role: 'user', content: QUERY }] })
    const { stdout } = await promisify(execFile)('curl', [
      '-sN',
      `${serve.url}/chat/completions`,
      '-H',
      'content-type: application/json',
      '-d',
      body,
    ])
    const frames = stdout.split('\n\n').filter(Boolean)
    expect(frames.every((f) => f.startsWith('data: ') && !f.includes('\n'))).toBe(true)
    expect(frames.at(-1)).toBe('data: [DONE]')
    const chunks = frames
      .slice(0, -1)
      .map((f) => JSON.parse(f.slice(6)) as { choices: { delta: { content?: string } }[] })
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(expected)
  })

  it('answers errors in OpenAI shape: unknown model 404, bad body 400, too large 413', async () => {
    const missing = await client.chat.completions
      .create({ model: 'nope', messages: [{ role: 'user', content: 'hi' }] })
      .catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(OpenAI.NotFoundError)
    expect((missing as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found')
    const bad = await fetch(`${serve.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'quick-deep', messages: [] }),
    })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_messages' } })
    const notJson = await fetch(`${serve.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    })
    expect(notJson.status).toBe(400)
    expect(await notJson.json()).toMatchObject({ error: { type: 'invalid_request_error' } })
    const huge = await fetch(`${serve.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'quick-deep', messages: [{ role: 'user', content: 'x'.repeat(2 << 20) }] }),
    })
    expect(huge.status).toBe(413)
    expect(await huge.json()).toMatchObject({ error: { type: 'invalid_request_error' } })
  })

  it('answers /v1/embeddings with 404 MEMORY_OFF when memory is off (as here)', async () => {
    const err = await client.embeddings.create({ model: 'm', input: 'hello' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.NotFoundError)
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('MEMORY_OFF')
    expect((err as Error).message).toMatch(/memory is off on this server/)
  })

  it('refuses a Host header that is not its address (DNS rebinding) with 403', async () => {
    const evil = await raw(serve.port, '/v1/models', { host: `attacker.example:${serve.port}` })
    expect(evil.status).toBe(403)
    expect(JSON.parse(evil.body)).toMatchObject({ error: { code: 'host_not_allowed' } })
    expect((await raw(serve.port, '/v1/models', { host: `localhost:${serve.port}` })).status).toBe(200)
  })

  it('allows only the configured browser origins', async () => {
    const ok = await raw(serve.port, '/v1/models', { host: `127.0.0.1:${serve.port}`, origin: 'http://localhost:3000' })
    expect(ok.status).toBe(200)
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:3000')
    const other = await raw(serve.port, '/v1/models', { host: `127.0.0.1:${serve.port}`, origin: 'http://evil.test' })
    expect(other.status).toBe(403)
    expect(other.headers['access-control-allow-origin']).toBeUndefined()
  })

  it('serves 8 clients at once, each its own answer', async () => {
    const answers = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        if (i % 2 === 0) {
          const r = await client.chat.completions.create({
            model: 'quick-deep',
            messages: [{ role: 'user', content: QUERY }],
          })
          return r.choices[0]!.message.content
        }
        let text = ''
        const s = await client.chat.completions.create({
          model: 'quick-deep',
          messages: [{ role: 'user', content: QUERY }],
          stream: true,
        })
        for await (const c of s) text += c.choices[0]?.delta.content ?? ''
        return text
      }),
    )
    expect(answers).toEqual(Array(8).fill(expected))
  })

  it('cancels the run when the client disconnects: the model request is aborted', async () => {
    const before = ollama.requests.length
    const controller = new AbortController()
    const stream = await client.chat.completions.create(
      { model: 'slow', messages: [{ role: 'user', content: 'Tell me a long story' }], stream: true },
      { signal: controller.signal },
    )
    const read = (async () => {
      for await (const c of stream) if (c.choices[0]?.delta.content) controller.abort()
    })()
    // the client stops reading quietly or with an abort error, as its version likes
    await read.catch(() => {})
    const chat = () => ollama.requests.slice(before).find((r) => r.path === '/api/chat')
    await until(() => chat()?.closed === true, 'the slow model request closed')
    expect(chat()!.aborted).toBe(true)
  })
})

describe('mirador serve beyond loopback', () => {
  it('needs the bearer token (0600 in $MIRADOR_HOME/serve/token); serve.concurrency: 429; serve.timeout', async () => {
    const p = makeProject({
      'chains/quick-deep.yaml': QUICK_DEEP,
      'chains/slow.yaml': SLOW,
      'models/manifest.yaml': MANIFEST,
      'mirador.config.yaml': 'serve:\n  concurrency: 1\n  timeout: 2\n',
    })
    const s = await startServe(['--host', '0.0.0.0'], {
      cwd: p.dir,
      env: { MIRADOR_HOME: p.home, OLLAMA_HOST: ollama.url },
    })
    try {
      const file = path.join(p.home, 'serve', 'token')
      expect(statSync(file).mode & 0o777).toBe(0o600)
      const token = (await readFile(file, 'utf8')).trim()
      expect(token.length).toBeGreaterThanOrEqual(40)
      expect(s.stderr()).toContain(token) // shown once, when made
      const base = `http://127.0.0.1:${s.port}/v1`
      const without = new OpenAI({ baseURL: base, apiKey: 'wrong', maxRetries: 0 })
      await expect(without.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError)
      const none = await fetch(`${base}/models`)
      expect(none.status).toBe(401)
      const withToken = new OpenAI({ baseURL: base, apiKey: token, maxRetries: 0 })
      const r = await withToken.chat.completions.create({
        model: 'quick-deep',
        messages: [{ role: 'user', content: QUERY }],
      })
      expect(r.choices[0]!.message.content).toBe(expected)

      const controller = new AbortController()
      const slow = await withToken.chat.completions.create(
        { model: 'slow', messages: [{ role: 'user', content: 'Tell me a long story' }], stream: true },
        { signal: controller.signal },
      )
      const chunks = slow[Symbol.asyncIterator]()
      const first = await chunks.next()
      expect(first.done).toBe(false)
      const busy = await withToken.chat.completions
        .create({ model: 'quick-deep', messages: [{ role: 'user', content: QUERY }] })
        .catch((e: unknown) => e)
      expect(busy).toBeInstanceOf(OpenAI.RateLimitError)
      // the slow run passes serve.timeout: it is cancelled and the stream says so
      const rest = (async () => {
        while (!(await chunks.next()).done);
      })()
      await expect(rest).rejects.toThrow(/time limit \(2s\)/)
      const chat = () => ollama.requests.find((r) => r.path === '/api/chat' && r.body?.model === 'slow:1b' && r.aborted)
      await until(() => chat() !== undefined, 'the timed-out model request aborted')
      controller.abort()
    } finally {
      expect(await s.stop()).toBe(0)
    }
  }, 30_000)
})
