/**
 * Generation on the real stories260K GGUF (MIRADOR_TEST_GGUF): streaming, spacing, logprobs,
 * max_tokens, stop strings, abort, concurrency. One runtime (one getLlama) for the whole file.
 */
import { afterAll, expect, test } from '@jest/globals'
import { createLlamaCpp } from '../../src/runtimes/llamacpp/index.js'
import type { GenerateRequest } from '../../src/engine/runtime.js'
import { STORY_START, collect, deltas, finishOf, textOf } from './helpers.js'
import { TEST_GGUF, describeGguf } from '../support/test-gguf.js'

const GGUF = TEST_GGUF
// raw completion: these tests know the model's greedy continuation of their prompt
const runtime = createLlamaCpp({ threads: 1, chatWrapper: 'none' })
const greedy = (extra: Partial<GenerateRequest> = {}, options: GenerateRequest['options'] = {}): GenerateRequest => ({
  model: GGUF,
  prompt: 'Once upon a time',
  ...extra,
  options: { temperature: 0, max_tokens: 40, ...options },
})

afterAll(async () => {
  await runtime.dispose?.()
})

describeGguf('llama.cpp generate (real GGUF)', () => {
  test('greedy output for "Once upon a time" is the known story, correctly spaced', async () => {
    const parts = await collect(runtime, greedy())
    expect(textOf(parts).startsWith(STORY_START)).toBe(true)
    expect(deltas(parts).length).toBeGreaterThan(10)
    // BOS + 4 prompt tokens; every token streamed
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      reason: 'length',
      usage: { promptTokens: 5, completionTokens: 40 },
    })
    expect(parts.filter((p) => p.type === 'error')).toEqual([])
  })

  test('with logprobs, every text-delta carries a finite logprob <= 0', async () => {
    const parts = await collect(runtime, greedy({ logprobs: true }))
    const ds = deltas(parts)
    expect(ds.length).toBe(40)
    for (const d of ds) {
      expect(typeof d.logprob).toBe('number')
      expect(Number.isFinite(d.logprob)).toBe(true)
      expect(d.logprob!).toBeLessThanOrEqual(0)
    }
    // greedy picks confident tokens: "," after "Once upon a time" has p ≈ 0.97
    expect(Math.exp(ds[0]!.logprob!)).toBeGreaterThan(0.5)
  })

  test('without logprobs, text-deltas carry none', async () => {
    const parts = await collect(runtime, greedy({}, { max_tokens: 5 }))
    expect(deltas(parts).every((d) => d.logprob === undefined)).toBe(true)
  })

  test.each([0, 1, 7, 33])('max_tokens %i is honoured exactly', async (n) => {
    const parts = await collect(runtime, greedy({}, { max_tokens: n }))
    expect(deltas(parts)).toHaveLength(n)
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      reason: 'length',
      usage: { promptTokens: 5, completionTokens: n },
    })
  })

  test('a stop string ends the generation and is not emitted', async () => {
    const parts = await collect(runtime, greedy({}, { max_tokens: 100, stop: ['park'] }))
    expect(textOf(parts)).toBe(', there was a little girl named Lily. She loved to play outside in the ')
    expect(finishOf(parts).reason).toBe('stop')
  })

  test('a stop string spanning several tokens is cut where it starts', async () => {
    const parts = await collect(runtime, greedy({}, { max_tokens: 100, stop: ['no such text', 'Lily. She'] }))
    expect(textOf(parts)).toBe(', there was a little girl named ')
    expect(finishOf(parts).reason).toBe('stop')
  })

  test('a stop string that never appears changes nothing', async () => {
    const parts = await collect(runtime, greedy({}, { stop: ['zzz'] }))
    expect(textOf(parts).startsWith(STORY_START)).toBe(true)
    expect(finishOf(parts).reason).toBe('length')
  })

  test('the system text is prepended to the prompt with a blank line', async () => {
    const system = 'A story for children.'
    const a = await collect(runtime, greedy({ system }))
    const b = await collect(runtime, greedy({ prompt: `${system}\n\nOnce upon a time` }))
    expect(textOf(a)).toBe(textOf(b))
    expect(finishOf(a).usage).toEqual(finishOf(b).usage)
    expect(finishOf(a).usage.promptTokens).toBeGreaterThan(5)
  })

  test('sampling with a seed is reproducible', async () => {
    const req = greedy({}, { temperature: 1, top_k: 40, top_p: 0.95, seed: 42, max_tokens: 30 })
    const a = textOf(await collect(runtime, req))
    const b = textOf(await collect(runtime, req))
    expect(a).toBe(b)
    expect(a.length).toBeGreaterThan(0)
  })

  test('num_ctx bounds prompt plus completion ("length")', async () => {
    const parts = await collect(runtime, greedy({}, { num_ctx: 20, max_tokens: 100 }))
    expect(finishOf(parts)).toEqual({
      type: 'finish',
      reason: 'length',
      usage: { promptTokens: 5, completionTokens: 15 },
    })
  })

  test('a prompt longer than the context is an error part, not a throw', async () => {
    const parts = await collect(runtime, greedy({ prompt: 'Once upon a time '.repeat(20) }, { num_ctx: 32 }))
    expect(parts).toHaveLength(1)
    const [p] = parts
    expect(p?.type === 'error' && p.error.code).toBe('RUNTIME_FAILED')
    expect(p?.type === 'error' && p.error.message).toMatch(/context window .* is 32 tokens/)
  })

  test('abort mid-stream ends promptly with finish reason "abort"', async () => {
    const controller = new AbortController()
    const parts = []
    let abortedAt = 0
    for await (const part of runtime.generate(greedy({ signal: controller.signal }, { max_tokens: 2000 }))) {
      parts.push(part)
      if (deltas(parts).length === 3 && !abortedAt) {
        abortedAt = performance.now()
        controller.abort()
      }
    }
    const elapsed = performance.now() - abortedAt
    const finish = finishOf(parts)
    expect(finish.reason).toBe('abort')
    expect(finish.usage.completionTokens).toBeLessThanOrEqual(4)
    expect(elapsed).toBeLessThan(250)
    // the runtime is still usable afterwards
    expect(textOf(await collect(runtime, greedy())).startsWith(STORY_START)).toBe(true)
  })

  test('an already aborted signal yields only a finish "abort"', async () => {
    const parts = await collect(runtime, greedy({ signal: AbortSignal.abort() }))
    expect(parts).toEqual([{ type: 'finish', reason: 'abort', usage: { completionTokens: 0 } }])
  })

  test('a consumer that stops reading early does not break the runtime', async () => {
    for await (const part of runtime.generate(greedy({}, { max_tokens: 500 }))) {
      if (part.type === 'text-delta') break
    }
    expect(textOf(await collect(runtime, greedy())).startsWith(STORY_START)).toBe(true)
  })

  test('two concurrent generations on one model both produce the greedy text', async () => {
    const [a, b] = await Promise.all([
      collect(runtime, greedy({}, { max_tokens: 60 })),
      collect(runtime, greedy({ logprobs: true }, { max_tokens: 60 })),
    ])
    expect(textOf(a).startsWith(STORY_START)).toBe(true)
    expect(textOf(a)).toBe(textOf(b))
    expect(finishOf(a).usage.completionTokens).toBe(60)
    expect(finishOf(b).usage.completionTokens).toBe(60)
  })
})
