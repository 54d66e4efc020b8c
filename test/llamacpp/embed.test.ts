/**
 * llama.cpp embeddings with the real stories260K model (MIRADOR_TEST_GGUF): 64-dim vectors, the
 * same text always gives the same vector, one embedding context per model reused across calls,
 * long and empty texts, errors, abort, and coexistence with generation on the same model.
 * (stories260K is not a sentence-embedding model: nothing here is about retrieval quality.)
 */
import { afterAll, expect, test } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { embeddingContextsCreated } from '../../src/runtimes/llamacpp/embed.js'
import { createLlamaCpp, llamaCppStats } from '../../src/runtimes/llamacpp/index.js'
import { collect, textOf } from './helpers.js'
import { TEST_GGUF, describeGguf } from '../support/test-gguf.js'

const GGUF = TEST_GGUF
// a small context, so that cutting an over-long text is cheap to test
const runtime = createLlamaCpp({ threads: 1, contextSize: 256 })

afterAll(async () => {
  await runtime.dispose?.()
})

const norm = (v: number[]) => Math.hypot(...v)

describeGguf('llama.cpp embed', () => {
  test('one 64-dim vector per text, deterministic, different texts differ', async () => {
    const texts = ['Once upon a time there was a cat.', 'The dog ran to the park.', 'Once upon a time there was a cat.']
    const a = await runtime.embed!(GGUF, texts)
    expect(a).toHaveLength(3)
    for (const v of a) {
      expect(v).toHaveLength(64)
      expect(v.every(Number.isFinite)).toBe(true)
      expect(norm(v)).toBeGreaterThan(0)
    }
    expect(a[2]).toEqual(a[0])
    expect(a[1]).not.toEqual(a[0])
    // and across calls
    const b = await runtime.embed!(GGUF, [texts[1]!])
    expect(b[0]).toEqual(a[1])
  })

  test('the model is loaded once and one embedding context is reused', async () => {
    const before = embeddingContextsCreated()
    await runtime.embed!(GGUF, ['a'])
    await Promise.all([runtime.embed!(GGUF, ['b', 'c']), runtime.embed!(GGUF, ['d'])])
    expect(embeddingContextsCreated()).toBe(before)
    expect(llamaCppStats().modelLoads).toBe(1)
  })

  test('an empty list makes no call; an empty text and a text longer than the context still embed', async () => {
    expect(await runtime.embed!(GGUF, [])).toEqual([])
    const long = 'the little girl played in the park with her red ball. '.repeat(100) // far beyond 256 tokens
    const [empty, big] = await runtime.embed!(GGUF, ['', long])
    expect(empty).toHaveLength(64)
    expect(big).toHaveLength(64)
    expect(big!.every(Number.isFinite)).toBe(true)
  })

  test('generation and embedding share the loaded model', async () => {
    const parts = await collect(runtime, {
      model: GGUF,
      prompt: 'Once upon a time',
      options: { temperature: 0, max_tokens: 10 },
    })
    expect(textOf(parts).length).toBeGreaterThan(0)
    const [v] = await runtime.embed!(GGUF, ['Once upon a time'])
    expect(v).toHaveLength(64)
    expect(llamaCppStats().modelLoads).toBe(1)
  })

  test('an aborted signal → ABORTED; a missing file → RUNTIME_LOAD', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(runtime.embed!(GGUF, ['x'], { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' })
    const err = await runtime.embed!('/nonexistent/model.gguf', ['x']).catch((e: unknown) => e)
    expect(MiradorError.is(err, 'RUNTIME_LOAD')).toBe(true)
  })

  test('after unload, embedding loads the model again and gives the same vector', async () => {
    const [before] = await runtime.embed!(GGUF, ['A red ball in the park.'])
    const loads = llamaCppStats().modelLoads
    const contexts = embeddingContextsCreated()
    await runtime.unload!(GGUF)
    const [after] = await runtime.embed!(GGUF, ['A red ball in the park.'])
    expect(after).toEqual(before)
    expect(llamaCppStats().modelLoads).toBe(loads + 1)
    expect(embeddingContextsCreated()).toBe(contexts + 1)
  })
})
