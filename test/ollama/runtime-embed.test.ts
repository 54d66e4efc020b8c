/**
 * The Ollama runtime's `embed` against the test double's `/api/embed` (deterministic bag-of-words
 * vectors, `embedText`): one batch request, vectors as sent, and every failure a MiradorError with
 * the right code; nothing printed.
 */
import { afterEach, beforeEach, describe, expect, jest, test } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { createOllama, type OllamaRuntime } from '../../src/runtimes/ollama/index.js'
import { embedText, startOllamaTestServer, unusedPort, type OllamaTestServer } from '../support/ollama-server.js'

let server: OllamaTestServer
let rt: OllamaRuntime
let warn: ReturnType<typeof jest.spyOn>
let log: ReturnType<typeof jest.spyOn>

beforeEach(async () => {
  server = await startOllamaTestServer({
    models: [{ name: 'nomic-embed-text:latest', embeddingLength: 48 }, { name: 'llama3.2:1b' }],
  })
  rt = createOllama({ host: server.url })
  warn = jest.spyOn(console, 'warn')
  log = jest.spyOn(console, 'log')
})
afterEach(async () => {
  expect(warn).not.toHaveBeenCalled()
  expect(log).not.toHaveBeenCalled()
  warn.mockRestore()
  log.mockRestore()
  await rt.dispose?.()
  await server.close()
})

const fails = async (p: Promise<unknown>): Promise<MiradorError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!MiradorError.is(err)) throw new Error(`expected a MiradorError, got ${String(err)}`)
  return err
}

describe('embed', () => {
  test('one batch request to /api/embed; one vector per text, as the server computed it', async () => {
    const texts = ['I moved to Lisbon in 2021', 'my sister is called Ana', 'I moved to Lisbon in 2021']
    const vectors = await rt.embed('nomic-embed-text', texts)
    expect(vectors).toEqual(texts.map((t) => embedText(t, 48)))
    expect(vectors[0]).toHaveLength(48)
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/embed'])
    expect(server.requests[0]!.body).toEqual({ model: 'nomic-embed-text', input: texts, truncate: true })
  })

  test('an empty list makes no request', async () => {
    expect(await rt.embed('nomic-embed-text', [])).toEqual([])
    expect(server.requests).toHaveLength(0)
  })

  test('a model the server lacks → MODEL_MISSING naming `ollama pull`, and nothing is pulled', async () => {
    const err = await fails(rt.embed('mxbai-embed-large', ['x']))
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toContain('`ollama pull mxbai-embed-large`')
    expect(err.details).toMatchObject({ host: server.url, model: 'mxbai-embed-large' })
    expect(server.requests.map((r) => r.path)).toEqual(['/api/embed'])
  })

  test('no server → RUNTIME_UNREACHABLE', async () => {
    const other = createOllama({ host: `http://127.0.0.1:${await unusedPort()}` })
    expect((await fails(other.embed('nomic-embed-text', ['x']))).code).toBe('RUNTIME_UNREACHABLE')
  })

  test('an HTTP 500 → RUNTIME_FAILED in Ollama’s words', async () => {
    server.setFault({ kind: 'http-error', status: 500, message: 'this model does not support embeddings' })
    const err = await fails(rt.embed('nomic-embed-text', ['x']))
    expect(err.code).toBe('RUNTIME_FAILED')
    expect(err.message).toContain('this model does not support embeddings')
  })

  test('a server that never answers → RUNTIME_TIMEOUT after firstTokenTimeoutMs', async () => {
    server.setFault({ kind: 'hang' })
    const quick = createOllama({ host: server.url, firstTokenTimeoutMs: 200 })
    const t0 = Date.now()
    const err = await fails(quick.embed('nomic-embed-text', ['x']))
    expect(err.code).toBe('RUNTIME_TIMEOUT')
    expect(Date.now() - t0).toBeLessThan(2000)
    await quick.dispose?.()
  })

  test('abort → ABORTED at once', async () => {
    server.setFault({ kind: 'hang' })
    const ac = new AbortController()
    const p = rt.embed('nomic-embed-text', ['x'], { signal: ac.signal })
    setTimeout(() => ac.abort(), 50)
    expect((await fails(p)).code).toBe('ABORTED')
    const pre = new AbortController()
    pre.abort()
    expect((await fails(rt.embed('nomic-embed-text', ['x'], { signal: pre.signal }))).code).toBe('ABORTED')
  })

  test('an answer without one vector per text → RUNTIME_PROTOCOL', async () => {
    const fake =
      (body: unknown): typeof fetch =>
      async () =>
        new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } })
    for (const body of [
      {},
      { embeddings: [[0.1, 0.2]] },
      { embeddings: [[0.1], [0.2, 0.3]] },
      { embeddings: [[0.1], ['x']] },
    ]) {
      const odd = createOllama({ host: server.url, fetch: fake(body) })
      expect((await fails(odd.embed('nomic-embed-text', ['a', 'b']))).code).toBe('RUNTIME_PROTOCOL')
    }
  })
})
