/**
 * Embedders: the built-in hashing embedder (deterministic, unit length, lexical similarity) and
 * the runtime embedder (batches, normalises, checks lengths), also over the real Ollama runtime
 * against its test double.
 */
import { describe, expect, test } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import type { Runtime } from '../../src/engine/runtime.js'
import { createEmbedder, createHashingEmbedder, hash32, l2normalize } from '../../src/lib/embedder.js'
import { createOllama } from '../../src/runtimes/ollama/index.js'
import { embedText, startOllamaTestServer } from '../support/ollama-server.js'

const dot = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0)
const norm = (v: number[]) => Math.sqrt(dot(v, v))

describe('hashing embedder', () => {
  const e = createHashingEmbedder()

  test('384 dimensions by default, unit length, signed, named by version and size', async () => {
    const [v] = await e.embed(['My sister Priya lives in Bristol with her husband Tom.'])
    expect(e.dims).toBe(384)
    expect(e.id).toBe('hashing-v1/384')
    expect(v).toHaveLength(384)
    expect(norm(v!)).toBeCloseTo(1, 12)
    expect(v!.some((x) => x < 0)).toBe(true)
    expect(v!.some((x) => x > 0)).toBe(true)
    const small = createHashingEmbedder({ dims: 64 })
    expect(small.vector('hello world')).toHaveLength(64)
    expect(small.id).toBe('hashing-v1/64')
  })

  test('deterministic: the same text gives the same vector, across calls and instances', async () => {
    const text = 'Dental check-up booked for 2 July at 3:20 pm at Bonnington Dental.'
    const a = e.vector(text)
    expect(e.vector(text)).toEqual(a)
    expect(createHashingEmbedder().vector(text)).toEqual(a)
    expect(await e.embed([text, text])).toEqual([a, a])
    // pinned values: stored vectors depend on them, so a change to the hash or the features must
    // come with a new id (hashing-v2) and fail here first
    expect(hash32('w:dental')).toBe(2147998440)
    expect(hash32('')).toBe(2872998923)
    const pinned = a.flatMap((x, i) => (x !== 0 ? [[i, Math.round(x * 1e6) / 1e6]] : [])).slice(0, 5)
    expect(pinned).toEqual([
      [0, -0.037697],
      [5, 0.041675],
      [10, 0.028683],
      [18, -0.041675],
      [26, 0.037697],
    ])
  })

  test('texts sharing words, stems or spelling are closer than unrelated texts', () => {
    const sim = (a: string, b: string) => dot(e.vector(a), e.vector(b))
    const base = 'I go bouldering at the climbing wall on Wednesdays'
    const related = 'We went climbing at the bouldering wall'
    const unrelated = 'My passport expires in March next year'
    expect(sim(base, related)).toBeGreaterThan(sim(base, unrelated) + 0.2)
    // inflections meet through the stemmer, other forms through character n-grams
    expect(sim('hiking in the hills', 'she hikes hills')).toBeGreaterThan(sim('hiking in the hills', 'cooking a curry'))
    expect(sim('physiotherapy appointment', 'physio session')).toBeGreaterThan(
      sim('physiotherapy appointment', 'bank account'),
    )
    // case, accents and punctuation do not matter
    expect(sim('Café in Lisbon!', 'cafe in lisbon')).toBeCloseTo(1, 12)
  })

  test('it is lexical, not semantic: a paraphrase with other words is not close', () => {
    const sim = (a: string, b: string) => dot(e.vector(a), e.vector(b))
    expect(sim('What does my other half do for a living?', 'My partner Sam is a nurse')).toBeLessThan(0.2)
  })

  test('a text without words gets a fixed unit vector, never zeros or NaN', () => {
    for (const t of ['', '   ', '?!', 'the of and']) {
      const v = e.vector(t)
      expect(norm(v)).toBeCloseTo(1, 12)
      expect(v.every(Number.isFinite)).toBe(true)
      expect(v).toEqual(e.vector(''))
    }
  })

  test('feature weights are options and change the id; bad settings → USAGE', () => {
    const custom = createHashingEmbedder({ weights: { chars: 0 } })
    expect(custom.id).toBe('hashing-v1/384/1,0.5,0')
    expect(custom.vector('bouldering')).not.toEqual(e.vector('bouldering'))
    expect(() => createHashingEmbedder({ dims: 4 })).toThrow(MiradorError)
    expect(() => createHashingEmbedder({ dims: 10.5 })).toThrow(/dimensions/)
    expect(() => createHashingEmbedder({ weights: { bigram: -1 } })).toThrow(/weights/)
  })

  test('an aborted signal → ABORTED', async () => {
    const ac = new AbortController()
    ac.abort()
    await expect(e.embed(['x'], { signal: ac.signal })).rejects.toMatchObject({ code: 'ABORTED' })
  })
})

describe('l2normalize', () => {
  test('scales to unit length; leaves the zero vector alone', () => {
    const v = l2normalize([3, 4])
    expect(v[0]).toBeCloseTo(0.6, 15)
    expect(v[1]).toBeCloseTo(0.8, 15)
    expect(l2normalize([0, 0])).toEqual([0, 0])
  })
})

describe('runtime embedder', () => {
  function fakeRuntime(dims = 3, answer?: (texts: string[]) => number[][]) {
    const calls: { model: string; texts: string[]; signal?: AbortSignal }[] = []
    const runtime: Runtime = {
      name: 'fake',
      generate: async function* () {},
      status: async () => ({ runtime: 'fake', ok: true, where: '', detail: '' }),
      async embed(model, texts, options) {
        calls.push({ model, texts, ...(options?.signal && { signal: options.signal }) })
        return answer ? answer(texts) : texts.map((t) => Array.from({ length: dims }, (_, i) => t.length + i))
      },
    }
    return { runtime, calls }
  }

  test('embeds in batches, in order, and L2-normalises every vector', async () => {
    const { runtime, calls } = fakeRuntime()
    const e = createEmbedder({ runtime, model: 'nomic-embed-text', batchSize: 2 })
    expect(e.id).toBe('fake/nomic-embed-text')
    expect(e.dims).toBeUndefined()
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee']
    const out = await e.embed(texts)
    expect(calls.map((c) => c.texts)).toEqual([['a', 'bb'], ['ccc', 'dddd'], ['eeeee']])
    expect(calls.every((c) => c.model === 'nomic-embed-text')).toBe(true)
    expect(out).toHaveLength(5)
    for (const [i, v] of out.entries()) {
      expect(norm(v)).toBeCloseTo(1, 12)
      const raw = [texts[i]!.length, texts[i]!.length + 1, texts[i]!.length + 2]
      expect(v).toEqual(l2normalize([...raw]))
    }
    expect(e.dims).toBe(3)
    expect(await e.embed([])).toEqual([])
  })

  test('passes the signal on', async () => {
    const { runtime, calls } = fakeRuntime()
    const ac = new AbortController()
    await createEmbedder({ runtime, model: 'm' }).embed(['x'], { signal: ac.signal })
    expect(calls[0]!.signal).toBe(ac.signal)
  })

  test('vectors of another length than expected → RUNTIME_FAILED naming both', async () => {
    const { runtime } = fakeRuntime(3)
    const err = await createEmbedder({ runtime, model: 'm', dims: 768 })
      .embed(['x'])
      .catch((e: unknown) => e)
    expect(MiradorError.is(err, 'RUNTIME_FAILED')).toBe(true)
    expect((err as MiradorError).message).toMatch(/3-dimensional.*768/)
    // and a model that changes its length between calls
    let n = 2
    const { runtime: shifty } = fakeRuntime(0, (texts) => texts.map(() => new Array<number>(n++).fill(1)))
    await expect(createEmbedder({ runtime: shifty, model: 'm' }).embed(['a', 'b'])).rejects.toMatchObject({
      code: 'RUNTIME_FAILED',
    })
  })

  test('a runtime that answers with the wrong number of vectors → RUNTIME_PROTOCOL', async () => {
    const { runtime } = fakeRuntime(3, () => [[1, 0, 0]])
    await expect(createEmbedder({ runtime, model: 'm' }).embed(['a', 'b'])).rejects.toMatchObject({
      code: 'RUNTIME_PROTOCOL',
    })
  })

  test('a runtime without embed → USAGE that says what to do; a bad batch size → USAGE', async () => {
    const runtime: Runtime = {
      name: 'plain',
      generate: async function* () {},
      status: async () => ({ runtime: 'plain', ok: true, where: '', detail: '' }),
    }
    const err = await createEmbedder({ runtime, model: 'm' })
      .embed(['x'])
      .catch((e: unknown) => e)
    expect(MiradorError.is(err, 'USAGE')).toBe(true)
    expect((err as MiradorError).message).toContain('hashing embedder')
    expect(() => createEmbedder({ runtime, model: 'm', batchSize: 0 })).toThrow(MiradorError)
  })

  test('over the Ollama runtime and its test double: the served vectors, normalised', async () => {
    const server = await startOllamaTestServer({ models: [{ name: 'nomic-embed-text', embeddingLength: 64 }] })
    const runtime = createOllama({ host: server.url })
    try {
      const e = createEmbedder({ runtime, model: 'nomic-embed-text', batchSize: 2 })
      const texts = ['I moved to Leith', 'Sam is a nurse', 'Biscuit is a ginger cat']
      const out = await e.embed(texts)
      expect(out).toHaveLength(3)
      for (const [i, v] of out.entries()) {
        const want = embedText(texts[i]!, 64)
        for (let j = 0; j < 64; j++) expect(v[j]).toBeCloseTo(want[j]!, 6)
      }
      expect(server.requests.filter((r) => r.path === '/api/embed')).toHaveLength(2)
      expect(e.dims).toBe(64)
    } finally {
      await runtime.dispose?.()
      await server.close()
    }
  })
})
