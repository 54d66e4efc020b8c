/** The bundled sentence encoder (USE Lite on TensorFlow.js's wasm backend): real weights, no mock. */
import { describe, expect, it } from '@jest/globals'
import { createHashingEmbedder } from '../../src/lib/embedder.js'
import { createUseEmbedder, tokenParts, USE_ID } from '../../src/lib/use-embedder.js'

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0)

describe('the bundled sentence embedder', () => {
  const use = createUseEmbedder()

  it('512-d unit vectors, one per text, in order; an empty text gets one too', async () => {
    const v = await use.embed(['Hello there', '', 'A third one'])
    expect(use.id).toBe(USE_ID)
    expect(v).toHaveLength(3)
    for (const x of v) {
      expect(x).toHaveLength(512)
      expect(Math.sqrt(dot(x, x))).toBeCloseTo(1, 5)
    }
    expect(await use.embed([])).toEqual([])
  }, 60_000)

  it('understands meaning where words differ: a paraphrase is closer than a stranger', async () => {
    const [birthday, sibling, market] = await use.embed([
      "My sister's birthday is March 3rd",
      'When was my sibling born?',
      'The stock market fell sharply today',
    ])
    expect(dot(birthday!, sibling!)).toBeGreaterThan(0.4)
    expect(dot(birthday!, sibling!)).toBeGreaterThan(dot(birthday!, market!) + 0.25)
    // the words-only embedder cannot: the two share no word
    const hashing = createHashingEmbedder()
    const [hb, hs] = await hashing.embed(["My sister's birthday is March 3rd", 'When was my sibling born?'])
    expect(dot(hb!, hs!)).toBeLessThan(0.1)
  }, 60_000)

  it('a batch over the tokens the model takes at once goes in parts, each text as if alone', async () => {
    // 40 texts of 500 words: more than MAX_TOKENS (16,384) in all, so at least two calls to the model
    const words = (i: number) => Array.from({ length: 500 }, (_, j) => `word${(i * 31 + j) % 997}`).join(' ')
    const texts = Array.from({ length: 40 }, (_, i) => words(i))
    const rows = await use.embed(texts)
    expect(rows).toHaveLength(40)
    for (const i of [0, 20, 39]) {
      const [alone] = await use.embed([texts[i]!])
      expect(dot(rows[i]!, alone!)).toBeGreaterThan(0.9999)
    }
  }, 120_000)

  it('parts keep the order and cut before the token limit; a longer text goes alone', () => {
    const e = (n: number) => Array.from({ length: n }, () => 1)
    const cut = tokenParts([e(10_000), e(6_000), e(1_000), e(20_000), e(5)])
    expect(cut.map((p) => p.map((x) => x.length))).toEqual([[10_000, 6_000], [1_000], [20_000], [5]])
  })

  it('the same text gives the same vector', async () => {
    const [a] = await use.embed(['Deterministic, please'])
    const [b] = await use.embed(['Deterministic, please'])
    expect(dot(a!, b!)).toBeCloseTo(1, 6)
  }, 60_000)
})
