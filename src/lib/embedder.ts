/**
 * Embedders: text → unit vectors for the memory store.
 *
 * - `createEmbedder({ runtime, model })` asks a runtime's `embed` (Ollama's `/api/embed` with an
 *   embedding model such as `nomic-embed-text`, or a llama.cpp embedding context), in batches, and
 *   L2-normalises what comes back, so cosine distance is what the store compares.
 * - `createHashingEmbedder({ dims })` is the embedder Mirador ships and builds itself, with no
 *   download and no model: the offline fallback when no embedding model is configured. It is
 *   feature hashing ("the hashing trick") of the words of a text, and so it is LEXICAL, NOT
 *   SEMANTIC: two texts are close when they share words, word stems, word pairs or spelling
 *   fragments, and a paraphrase that uses other words ("my other half" for "my partner") is not
 *   found by it at all. It knows no synonyms and no meaning. Recall re-ranks its candidates with
 *   BM25 and recency (recall.ts), which helps, but a real embedding model finds far more.
 *
 * Hashing features, from the same analysis BM25 uses (bm25.ts: normalised, stop words dropped,
 * lightly stemmed):
 * - each stemmed word (weight 1 + ln tf);
 * - each pair of adjacent stemmed words (weight 0.5);
 * - the character 3- and 4-grams of each word, with `<` `>` marking its ends (so "bouldering"
 *   and "boulders" share "<bou", "bould", …), weighted so that each word's n-grams together
 *   weigh 0.5 (in L2 norm).
 * Each feature is hashed (FNV-1a with a murmur3 finaliser) to one of `dims` slots with a sign
 * taken from the same hash (signed hashing keeps collisions from adding up), and the vector is
 * L2-normalised. A text with no words (empty, only stop words or punctuation) gets the vector of
 * one fixed feature, so it is never the zero vector. Deterministic across runs and platforms.
 */
import { MiradorError } from '../engine/errors.js'
import type { Runtime } from '../engine/runtime.js'
import { analyze } from './bm25.js'

export interface Embedder {
  /**
   * Names the embedding space (embedder and model): vectors with different ids must not be mixed
   * in one store. `hashing-v1/384`, `ollama/nomic-embed-text`, …
   */
  readonly id: string
  /** vector length: fixed for the hashing embedder; for a model, known after its first answer */
  readonly dims: number | undefined
  /** one unit vector per text, in order. Throws MiradorError. */
  embed(texts: string[], options?: { signal?: AbortSignal }): Promise<number[][]>
}

/** Cosine similarity of two vectors (0 when either is the zero vector). */
export function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0
  let na = 0
  let nb = 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return na > 0 && nb > 0 ? dot / Math.sqrt(na * nb) : 0
}

/** Scales `v` to unit length in place and returns it; the zero vector is left as it is. */
export function l2normalize(v: number[]): number[] {
  let s = 0
  for (const x of v) s += x * x
  if (s === 0) return v
  const inv = 1 / Math.sqrt(s)
  for (let i = 0; i < v.length; i++) v[i]! *= inv
  return v
}

export interface RuntimeEmbedderOptions {
  runtime: Runtime
  /** the embedding model as the runtime knows it (an Ollama tag, a GGUF path) */
  model: string
  /** the vector length expected (the store's); a model giving another length is an error */
  dims?: number
  /** texts per runtime call (default 32) */
  batchSize?: number
}

export function createEmbedder(options: RuntimeEmbedderOptions): Embedder {
  const { runtime, model } = options
  const batchSize = options.batchSize ?? 32
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new MiradorError('USAGE', `embedder batchSize must be a whole number ≥ 1, not ${batchSize}`)
  let dims = options.dims
  const embedFn = runtime.embed?.bind(runtime)
  return {
    id: `${runtime.name}/${model}`,
    get dims() {
      return dims
    },
    async embed(texts: string[], opts: { signal?: AbortSignal } = {}): Promise<number[][]> {
      if (!embedFn)
        throw new MiradorError(
          'USAGE',
          `the ${runtime.name} runtime cannot compute embeddings, so it cannot serve the embedding model ${model}. ` +
            'Name an embedding model on a runtime that has them (Ollama or llama.cpp), ' +
            'or leave it out to use the built-in hashing embedder.',
        )
      const out: number[][] = []
      for (let i = 0; i < texts.length; i += batchSize) {
        const batch = texts.slice(i, i + batchSize)
        const vectors = await embedFn(model, batch, opts.signal ? { signal: opts.signal } : {})
        if (vectors.length !== batch.length)
          throw new MiradorError(
            'RUNTIME_PROTOCOL',
            `the ${runtime.name} runtime gave ${vectors.length} vectors for ${batch.length} texts (model ${model})`,
          )
        for (const v of vectors) {
          if (dims === undefined) dims = v.length
          if (v.length !== dims)
            throw new MiradorError(
              'RUNTIME_FAILED',
              `the embedding model ${model} gives ${v.length}-dimensional vectors, but ${dims} are expected: ` +
                'the memory store was built with another embedding model. ' +
                'Name that model again, or start a new memory store for this one.',
              { details: { model, expected: dims, got: v.length } },
            )
          out.push(l2normalize([...v]))
        }
      }
      return out
    },
  }
}

// -- the hashing embedder ---------------------------------------------------------------------

/** FNV-1a over UTF-16 code units, then murmur3's 32-bit finaliser (good low and high bits). */
export function hash32(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

export interface HashingEmbedderOptions {
  /** vector length (default 384) */
  dims?: number
  /** weights of the three kinds of feature (default HASHING_WEIGHTS) */
  weights?: Partial<HashingWeights>
}

export interface HashingWeights {
  /** each stemmed word */
  unigram: number
  /** each pair of adjacent stemmed words */
  bigram: number
  /** a word's character n-grams together (L2 norm) */
  chars: number
}

export const HASHING_WEIGHTS: Readonly<HashingWeights> = Object.freeze({ unigram: 1, bigram: 0.5, chars: 0.5 })
const EMPTY_FEATURE = '\u0000empty'

export interface HashingEmbedder extends Embedder {
  readonly dims: number
  /** the vector of one text, synchronously */
  vector(text: string): number[]
}

export function createHashingEmbedder(options: HashingEmbedderOptions = {}): HashingEmbedder {
  const dims = options.dims ?? 384
  if (!(Number.isInteger(dims) && dims >= 8))
    throw new MiradorError('USAGE', `the hashing embedder needs a whole number of dimensions ≥ 8, not ${dims}`)
  const fw: HashingWeights = { ...HASHING_WEIGHTS, ...options.weights }
  if (Object.values(fw).some((x) => !(Number.isFinite(x) && x >= 0)))
    throw new MiradorError(
      'USAGE',
      `hashing embedder weights must be numbers ≥ 0, not ${JSON.stringify(options.weights)}`,
    )
  const custom =
    fw.unigram !== HASHING_WEIGHTS.unigram || fw.bigram !== HASHING_WEIGHTS.bigram || fw.chars !== HASHING_WEIGHTS.chars

  const add = (v: Float64Array, feature: string, weight: number): void => {
    const h = hash32(feature)
    v[h % dims]! += h & 0x80000000 ? -weight : weight
  }

  function vector(text: string): number[] {
    const v = new Float64Array(dims)
    const { words, terms } = analyze(text)
    if (terms.length === 0) {
      add(v, EMPTY_FEATURE, 1) // one ±1 entry: already unit length
      return Array.from(v)
    }
    const tf = new Map<string, number>()
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1)
    for (const [t, n] of tf) add(v, `w:${t}`, fw.unigram * (1 + Math.log(n)))
    for (let i = 1; i < terms.length; i++) add(v, `b:${terms[i - 1]} ${terms[i]}`, fw.bigram)
    for (const w of fw.chars > 0 ? words : []) {
      const padded = `<${w}>`
      const grams: string[] = []
      for (const n of [3, 4]) for (let i = 0; i + n <= padded.length; i++) grams.push(padded.slice(i, i + n))
      const weight = fw.chars / Math.sqrt(grams.length)
      for (const g of grams) add(v, `c:${g}`, weight)
    }
    return l2normalize(Array.from(v))
  }

  return {
    id: custom ? `hashing-v1/${dims}/${fw.unigram},${fw.bigram},${fw.chars}` : `hashing-v1/${dims}`,
    dims,
    vector,
    async embed(texts: string[], opts: { signal?: AbortSignal } = {}): Promise<number[][]> {
      if (opts.signal?.aborted) throw new MiradorError('ABORTED', 'Cancelled while embedding.')
      return texts.map(vector)
    },
  }
}
