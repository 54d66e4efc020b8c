/**
 * Every way Ollama can fail, through the runtime: each gives one error part with the right code
 * and a message that names the host and says what to do, and nothing hangs (each stream is
 * collected under a deadline and its duration is asserted).
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import type { GenerateRequest } from '../../src/engine/runtime.js'
import { createOllama, type OllamaRuntime } from '../../src/runtimes/ollama/index.js'
import {
  defaultReply,
  startOllamaTestServer,
  tokenize,
  unusedPort,
  type OllamaTestServer,
} from '../support/ollama-server.js'
import { collect, ofType, onlyError, texts, until } from './helpers.js'

let server: OllamaTestServer
let rt: OllamaRuntime
let warn: ReturnType<typeof jest.spyOn>
let log: ReturnType<typeof jest.spyOn>

beforeEach(async () => {
  server = await startOllamaTestServer({ models: [{ name: 'llama3.2:1b' }] })
  rt = createOllama({ host: server.url })
  warn = jest.spyOn(console, 'warn')
  log = jest.spyOn(console, 'log')
})
afterEach(async () => {
  // the client must never print (it would corrupt --json output)
  expect(warn).not.toHaveBeenCalled()
  expect(log).not.toHaveBeenCalled()
  warn.mockRestore()
  log.mockRestore()
  await rt.dispose?.()
  await server.close()
})

const PROMPT = 'Why is the sky blue at noon?'
const TOKENS = tokenize(defaultReply('llama3.2:1b', PROMPT))
const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: 'llama3.2:1b',
  prompt: PROMPT,
  options: {},
  ...over,
})
const unreachable = (host: string, reason: string): string =>
  `Cannot reach Ollama at ${host} (${reason}). Start it with \`ollama serve\`, or point OLLAMA_HOST ` +
  "(or the model's `host` in models/manifest.yaml) at a running server. " +
  'No Ollama? `mirador models pull default` downloads a small model that the shipped chains then run on ' +
  'inside Mirador; or run any GGUF file on the embedded llama.cpp runtime: a manifest entry with ' +
  '`runtime: llamacpp` and `base: ${MIRADOR_GGUF}`, as in the shipped `local-story` chain ' +
  '(MIRADOR_GGUF=path/to/model.gguf mirador chain run local-story "Once upon a time").'

/** a fetch that answers every call with this body */
const fakeFetch =
  (body: string, init: ResponseInit = {}): typeof fetch =>
  async () =>
    new Response(body, { headers: { 'content-type': 'application/x-ndjson' }, ...init })

describe('unreachable', () => {
  test('connection refused → RUNTIME_UNREACHABLE naming the host, at once', async () => {
    const port = await unusedPort()
    const host = `http://127.0.0.1:${port}`
    const t0 = Date.now()
    const parts = await collect(createOllama({ host }).generate(req()), 5000)
    expect(Date.now() - t0).toBeLessThan(2000)
    const err = onlyError(parts)
    expect(parts).toHaveLength(1)
    expect(err.code).toBe('RUNTIME_UNREACHABLE')
    expect(err.message).toBe(unreachable(host, 'connection refused'))
    expect(err.details).toMatchObject({ host, model: 'llama3.2:1b', code: 'ECONNREFUSED' })
  })

  test('a server that went away → RUNTIME_UNREACHABLE', async () => {
    await server.close()
    const err = onlyError(await collect(rt.generate(req()), 5000))
    expect(err.code).toBe('RUNTIME_UNREACHABLE')
    expect(err.message).toBe(unreachable(server.url, 'connection refused'))
  })

  test('unknown host name (ENOTFOUND, as fetch reports it) → RUNTIME_UNREACHABLE "host not found"', async () => {
    const fetchNotFound: typeof fetch = async () => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('getaddrinfo ENOTFOUND nohost'), { code: 'ENOTFOUND' }),
      })
    }
    const parts = await collect(createOllama({ host: 'nohost', fetch: fetchNotFound }).generate(req()))
    expect(onlyError(parts).message).toBe(unreachable('http://nohost:11434', 'host not found'))
  })

  test('status() of an unreachable server: ok false with the same advice', async () => {
    const host = `http://127.0.0.1:${await unusedPort()}`
    expect(await createOllama({ host }).status()).toEqual({
      runtime: 'ollama',
      ok: false,
      where: host,
      detail: unreachable(host, 'connection refused'),
    })
  })
})

describe('server faults', () => {
  test('dropped mid-stream → the tokens so far, then RUNTIME_FAILED "connection … lost after N tokens"', async () => {
    server.setFault({ kind: 'drop-mid-stream', afterTokens: 4 })
    const parts = await collect(rt.generate(req()), 5000)
    expect(texts(parts)).toEqual(TOKENS.slice(0, 4))
    const err = onlyError(parts)
    expect(err.code).toBe('RUNTIME_FAILED')
    expect(err.message).toBe(
      `The connection to Ollama at ${server.url} was lost after 4 tokens of llama3.2:1b. ` +
        'The server may have crashed or been stopped; check its log and try again.',
    )
  })

  test('dropped before the first token → RUNTIME_FAILED after 0 tokens', async () => {
    server.setFault({ kind: 'drop-mid-stream', afterTokens: 0 })
    const err = onlyError(await collect(rt.generate(req()), 5000))
    expect(err.code).toBe('RUNTIME_FAILED')
    expect(err.message).toContain('was lost after 0 tokens of llama3.2:1b')
  })

  test('a malformed NDJSON line → RUNTIME_PROTOCOL quoting it (and the client prints nothing)', async () => {
    server.setFault({ kind: 'malformed-line', afterTokens: 2 })
    const parts = await collect(rt.generate(req()), 5000)
    expect(texts(parts)).toEqual(TOKENS.slice(0, 2))
    const err = onlyError(parts)
    expect(err.code).toBe('RUNTIME_PROTOCOL')
    expect(err.message).toBe(
      `Ollama at ${server.url} sent a line that is not JSON while running llama3.2:1b (after 2 tokens): ` +
        'this is not JSON {"done":. ' +
        "Check that OLLAMA_HOST (or the model's `host`) points at an Ollama server.",
    )
  })

  test('a JSON line that is not an object → RUNTIME_PROTOCOL saying so, after the good lines', async () => {
    const body = [
      JSON.stringify({ model: 'm', message: { role: 'assistant', content: 'Hi' }, done: false }),
      '42',
      '',
    ].join('\n')
    const parts = await collect(createOllama({ host: 'http://h:1', fetch: fakeFetch(body) }).generate(req()))
    expect(texts(parts)).toEqual(['Hi'])
    expect(onlyError(parts)).toMatchObject({
      code: 'RUNTIME_PROTOCOL',
      message:
        'Ollama at http://h:1 sent a line that is not a JSON object while running llama3.2:1b (after 1 token): 42. ' +
        "Check that OLLAMA_HOST (or the model's `host`) points at an Ollama server.",
    })
  })

  test("HTTP 500 → RUNTIME_FAILED with Ollama's error text", async () => {
    server.setFault({ kind: 'http-error', status: 500, message: 'llama runner process has terminated: signal: killed' })
    const parts = await collect(rt.generate(req()), 5000)
    expect(parts).toHaveLength(1)
    const err = onlyError(parts)
    expect(err.code).toBe('RUNTIME_FAILED')
    expect(err.message).toBe(
      `Ollama at ${server.url} failed while running llama3.2:1b: ` +
        'llama runner process has terminated: signal: killed (HTTP 500)',
    )
    expect(err.details).toMatchObject({ status: 500 })
  })

  test('a 404 that is not Ollama\'s "model not found" → RUNTIME_PROTOCOL (not a pull)', async () => {
    const parts = await collect(
      createOllama({
        host: 'http://web:80',
        fetch: fakeFetch('404 page not found', { status: 404, headers: { 'content-type': 'text/plain' } }),
      }).generate(req()),
    )
    const err = onlyError(parts)
    expect(err.code).toBe('RUNTIME_PROTOCOL')
    expect(err.message).toBe(
      'http://web:80 answered HTTP 404 (404 page not found) while running llama3.2:1b; it does not look like an Ollama server. ' +
        "Check OLLAMA_HOST (or the model's `host` in models/manifest.yaml).",
    )
  })

  test('an {"error"} line mid-stream → RUNTIME_FAILED in Ollama\'s words', async () => {
    const body = [
      JSON.stringify({ model: 'm', message: { role: 'assistant', content: 'Hi' }, done: false }),
      JSON.stringify({ error: 'an error was encountered while running the model: CUDA error: out of memory' }),
      '',
    ].join('\n')
    const parts = await collect(createOllama({ host: 'http://h:1', fetch: fakeFetch(body) }).generate(req()))
    expect(texts(parts)).toEqual(['Hi'])
    expect(onlyError(parts)).toMatchObject({
      code: 'RUNTIME_FAILED',
      message:
        'Ollama at http://h:1 reported an error while running llama3.2:1b: an error was encountered while running the model: CUDA error: out of memory',
    })
  })

  test('a stream that ends without its done line → RUNTIME_PROTOCOL', async () => {
    const body = JSON.stringify({ model: 'm', message: { role: 'assistant', content: 'Hi' }, done: false }) + '\n'
    const parts = await collect(createOllama({ host: 'http://h:1', fetch: fakeFetch(body) }).generate(req()))
    expect(onlyError(parts)).toMatchObject({
      code: 'RUNTIME_PROTOCOL',
      message:
        'The stream from Ollama at http://h:1 ended after 1 token of llama3.2:1b without a final "done" line. The server may have been interrupted; try again.',
    })
  })

  test('status() of something that is not Ollama → ok false, RUNTIME_PROTOCOL wording', async () => {
    const html: typeof fetch = async () =>
      new Response('<html>hello</html>', { headers: { 'content-type': 'text/html' } })
    const st = await createOllama({ host: 'http://web:80', fetch: html }).status()
    expect(st.ok).toBe(false)
    expect(st.detail).toMatch(
      /^Ollama at http:\/\/web:80 sent a body that is not JSON while answering: .*<html>hello<\/html>.*Check that OLLAMA_HOST/,
    )
  })
})

describe('timeouts', () => {
  test('a server that accepts, never answers → RUNTIME_TIMEOUT at firstTokenTimeoutMs, request aborted', async () => {
    server.setFault({ kind: 'hang' })
    const quick = createOllama({ host: server.url, firstTokenTimeoutMs: 300 })
    const t0 = Date.now()
    const parts = await collect(quick.generate(req()), 5000)
    const ms = Date.now() - t0
    expect(ms).toBeGreaterThanOrEqual(290)
    expect(ms).toBeLessThan(1500)
    const err = onlyError(parts)
    expect(err.code).toBe('RUNTIME_TIMEOUT')
    expect(err.message).toBe(
      `Ollama at ${server.url} sent no token for llama3.2:1b within 300 ms. ` +
        'The model may still be loading or the machine is overloaded: ' +
        "check `ollama ps`, try a smaller model, or raise the runtime's firstTokenTimeoutMs.",
    )
    expect(err.details).toMatchObject({ host: server.url, model: 'llama3.2:1b', timeoutMs: 300, kind: 'first-token' })
    await until(() => server.requests[0]!.closed, 2000, 'the server to see the request aborted')
    expect(server.requests[0]!.aborted).toBe(true)
  })

  test('a slow first token beyond the limit → RUNTIME_TIMEOUT; within it → a normal stream', async () => {
    server.setFault({ kind: 'slow-first-token', delayMs: 3000 })
    const strict = createOllama({ host: server.url, firstTokenTimeoutMs: 250 })
    const err = onlyError(await collect(strict.generate(req()), 3000))
    expect(err.code).toBe('RUNTIME_TIMEOUT')
    server.setFault({ kind: 'slow-first-token', delayMs: 200 })
    const patient = createOllama({ host: server.url, firstTokenTimeoutMs: 2000, idleTimeoutMs: 100 })
    const parts = await collect(patient.generate(req()), 5000)
    expect(texts(parts)).toEqual(TOKENS)
    expect(parts[parts.length - 1]).toMatchObject({ type: 'finish', reason: 'stop' })
  })

  test('tokens that stop coming → RUNTIME_TIMEOUT after idleTimeoutMs, naming the tokens so far', async () => {
    server.setOptions({ tokenDelayMs: 2000 })
    const quick = createOllama({ host: server.url, idleTimeoutMs: 200 })
    const t0 = Date.now()
    const parts = await collect(quick.generate(req()), 5000)
    expect(Date.now() - t0).toBeLessThan(1500)
    expect(texts(parts)).toEqual(TOKENS.slice(0, 1))
    const err = onlyError(parts)
    expect(err.code).toBe('RUNTIME_TIMEOUT')
    expect(err.message).toBe(
      `Ollama at ${server.url} stopped sending tokens for llama3.2:1b: nothing for 200 ms after 1 token. ` +
        "Check that the server is not stuck (`ollama ps`) and try again, or raise the runtime's idleTimeoutMs.",
    )
  })

  test('tokens that keep coming, each within idleTimeoutMs, never time out however long the stream lasts', async () => {
    server.setOptions({ tokenDelayMs: 60, tokens: 12 })
    const quick = createOllama({ host: server.url, firstTokenTimeoutMs: 150, idleTimeoutMs: 150 })
    const parts = await collect(quick.generate(req()), 5000)
    expect(ofType(parts, 'text-delta')).toHaveLength(12)
    expect(parts[parts.length - 1]).toMatchObject({ type: 'finish', reason: 'stop' })
  })

  test('a body that stalls and ignores the abort (a fetch that drops the signal) still times out', async () => {
    const line = JSON.stringify({ model: 'm', message: { role: 'assistant', content: 'Hi' }, done: false }) + '\n'
    let cancelled = false
    const deaf: typeof fetch = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(line))
          },
          cancel() {
            cancelled = true
          },
        }),
        { headers: { 'content-type': 'application/x-ndjson' } },
      )
    const t0 = Date.now()
    const parts = await collect(createOllama({ host: 'http://h:1', fetch: deaf, idleTimeoutMs: 200 }).generate(req()))
    expect(Date.now() - t0).toBeLessThan(1500)
    expect(texts(parts)).toEqual(['Hi'])
    expect(onlyError(parts)).toMatchObject({ code: 'RUNTIME_TIMEOUT', details: { kind: 'idle' } })
    expect(cancelled).toBe(true)
  })

  test('a slow consumer does not count as an idle server', async () => {
    const quick = createOllama({ host: server.url, idleTimeoutMs: 100 })
    const parts = []
    for await (const p of quick.generate(req({ options: { max_tokens: 4 } }))) {
      parts.push(p)
      await new Promise((r) => setTimeout(r, 250))
    }
    expect(parts.map((p) => p.type)).toEqual(['text-delta', 'text-delta', 'text-delta', 'text-delta', 'finish'])
  })

  test('dispose() stops generations in flight', async () => {
    server.setOptions({ tokenDelayMs: 50, tokens: 500 })
    const parts = collect(rt.generate(req()), 5000)
    await until(() => server.requests[0]?.tokensSent === 2, 3000, 'two tokens')
    await rt.dispose!()
    const got = await parts
    expect(got[got.length - 1]).toEqual({
      type: 'finish',
      reason: 'abort',
      usage: { completionTokens: expect.any(Number) },
    })
  })
})
