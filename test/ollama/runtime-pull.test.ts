/**
 * Missing models: pulled with progress parts then generated, or refused (offline, pull: false),
 * and pull failures.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import type { GenerateRequest, StreamPart } from '../../src/engine/runtime.js'
import { createOllama } from '../../src/runtimes/ollama/index.js'
import { defaultReply, startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { collect, ofType, onlyError, texts, until } from './helpers.js'

let server: OllamaTestServer

beforeEach(async () => {
  server = await startOllamaTestServer({
    models: [
      { name: 'llama3.2:1b', size: 3_000_000 },
      { name: 'phi3:mini', size: 6_000_000, present: false },
    ],
    pullSteps: 2,
  })
})
afterEach(async () => {
  await server.close()
})

const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: 'phi3:mini',
  prompt: 'Say hi',
  options: {},
  ...over,
})
const paths = (): string[] => server.requests.map((r) => `${r.method} ${r.path}`)

describe('pull on a missing model', () => {
  test('pulls with progress parts, then generates', async () => {
    const parts = await collect(createOllama({ host: server.url }).generate(req()), 10_000)
    expect(paths()).toEqual(['POST /api/chat', 'POST /api/pull', 'POST /api/chat'])
    expect(server.requests[1]!.body).toEqual({ name: 'phi3:mini', stream: true })

    const progress = ofType(parts, 'progress')
    const firstText = parts.findIndex((p) => p.type === 'text-delta')
    expect(parts.slice(0, progress.length)).toEqual(progress) // all progress comes first
    expect(firstText).toBe(progress.length)
    expect(progress.map((p) => p.status.replace(/[0-9a-f]{12}$/, '<digest>'))).toEqual([
      'pulling manifest',
      ...Array(9).fill('pulling <digest>'),
      'verifying sha256 digest',
      'writing manifest',
      'success',
    ])
    const weights = progress.filter((p) => p.total === 6_000_000 - 1_500)
    expect(weights.map((p) => p.completed)).toEqual([undefined, 2_999_250, 5_998_500])

    expect(texts(parts).join('')).toBe(defaultReply('phi3:mini', 'Say hi'))
    expect(parts[parts.length - 1]).toMatchObject({ type: 'finish', reason: 'stop' })
    expect(server.present()).toContain('phi3:mini')
  })

  test('runtime.pull() alone streams the same progress', async () => {
    const parts = await collect(createOllama({ host: server.url }).pull('phi3:mini'))
    expect(parts.every((p) => p.type === 'progress')).toBe(true)
    expect(parts[parts.length - 1]).toEqual({ type: 'progress', status: 'success' })
  })

  test('offline refuses with MODEL_MISSING and never pulls', async () => {
    const parts = await collect(createOllama({ host: server.url, offline: true }).generate(req()))
    expect(parts).toHaveLength(1)
    const err = onlyError(parts)
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toBe(
      `model phi3:mini is not on the Ollama server at ${server.url} and --offline forbids pulling it; ` +
        'run `ollama pull phi3:mini`',
    )
    expect(paths()).toEqual(['POST /api/chat'])
  })

  test('pull: false refuses with MODEL_MISSING too', async () => {
    const err = onlyError(await collect(createOllama({ host: server.url, pull: false }).generate(req())))
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toBe(
      `model phi3:mini is not on the Ollama server at ${server.url} and pulling is turned off for this runtime; ` +
        'run `ollama pull phi3:mini`',
    )
    expect(paths()).toEqual(['POST /api/chat'])
  })

  test("a model the registry does not have → MODEL_MISSING in Ollama's words, no second chat", async () => {
    const parts = await collect(createOllama({ host: server.url }).generate(req({ model: 'nosuch:1b' })))
    expect(ofType(parts, 'progress')).toEqual([{ type: 'progress', status: 'pulling manifest' }])
    const err = onlyError(parts)
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toBe(
      `Ollama at ${server.url} could not pull nosuch:1b: pull model manifest: file does not exist. ` +
        "Check the model name (see https://ollama.com/library) or the model's `host` in models/manifest.yaml.",
    )
    expect(paths()).toEqual(['POST /api/chat', 'POST /api/pull'])
  })
})

describe('pull failures', () => {
  test('aborting during the pull ends with finish(abort) and closes the pull request', async () => {
    server.setOptions({ pullDelayMs: 100 })
    const ac = new AbortController()
    const parts: StreamPart[] = []
    const t0 = Date.now()
    for await (const p of createOllama({ host: server.url }).generate(req({ signal: ac.signal }))) {
      parts.push(p)
      if (parts.length === 2) ac.abort()
    }
    expect(Date.now() - t0).toBeLessThan(2000)
    expect(parts.map((p) => p.type)).toEqual(['progress', 'progress', 'finish'])
    expect(parts[2]).toEqual({ type: 'finish', reason: 'abort', usage: { completionTokens: 0 } })
    const pull = server.requests[1]!
    await until(() => pull.closed, 2000, 'the pull to close')
    expect(pull.aborted).toBe(true)
    expect(server.present()).not.toContain('phi3:mini')
  })

  test('a pull that drops → RUNTIME_FAILED "lost while pulling"', async () => {
    server.setFault({ kind: 'drop-mid-stream', afterTokens: 3, only: ['/api/pull'] })
    const parts = await collect(createOllama({ host: server.url }).generate(req()), 5000)
    expect(ofType(parts, 'progress')).toHaveLength(3)
    const err = onlyError(parts)
    expect(err.code).toBe('RUNTIME_FAILED')
    expect(err.message).toBe(
      `The connection to Ollama at ${server.url} was lost while pulling phi3:mini. ` +
        'The server may have crashed or been stopped; check its log and try again.',
    )
  })

  test('a pull that stalls → RUNTIME_TIMEOUT after idleTimeoutMs', async () => {
    server.setOptions({ pullDelayMs: 3000 })
    const t0 = Date.now()
    const parts = await collect(createOllama({ host: server.url, idleTimeoutMs: 200 }).generate(req()), 5000)
    expect(Date.now() - t0).toBeLessThan(1500)
    const err = onlyError(parts)
    expect(err.code).toBe('RUNTIME_TIMEOUT')
    expect(err.message).toBe(
      `Ollama at ${server.url} stopped reporting progress while pulling phi3:mini: nothing for 200 ms. ` +
        "Check the server's network access and try again, or run `ollama pull phi3:mini` yourself.",
    )
  })

  test('a model still missing after a successful pull → MODEL_MISSING, no loop', async () => {
    // the server says success but the model stays absent: the pull answers for another name
    const fetchLying: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input)
      if (url.endsWith('/api/pull'))
        return fetch(input, { ...init, body: JSON.stringify({ name: 'llama3.2:1b', stream: true }) })
      return fetch(input, init)
    }
    const parts = await collect(createOllama({ host: server.url, fetch: fetchLying }).generate(req()), 5000)
    const err = onlyError(parts)
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toBe(
      `Ollama at ${server.url} pulled phi3:mini but still reports it missing; check \`ollama list\` on that server.`,
    )
    expect(paths()).toEqual(['POST /api/chat', 'POST /api/pull', 'POST /api/chat'])
  })
})
