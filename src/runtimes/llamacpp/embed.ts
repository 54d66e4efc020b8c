/**
 * Embeddings on an embedded llama.cpp model: `model.createEmbeddingContext({ threads, contextSize })`.
 *
 * - The model comes from the process-wide cache (load.ts) and is leased while texts are embedded,
 *   so it cannot be unloaded under them.
 * - One embedding context per loaded model, created on first use (with the threads and context
 *   size of the runtime instance that asked first) and reused by every later call
 *   (node-llama-cpp serialises evaluations on it); it is disposed with the model. A model that is
 *   unloaded and loaded again gets a new one.
 * - A text longer than the context is cut to fit (like Ollama's `truncate: true`); an empty text
 *   is embedded as the model's BOS token alone.
 * - Vectors are returned as llama.cpp computes them, not normalised (callers normalise:
 *   src/lib/embedder.ts). Their length is the model's embedding size (64 for the
 *   stories260K test model, which is not a sentence-embedding model).
 * - Throws MiradorError: RUNTIME_LOAD (the model file), RUNTIME_FAILED (llama.cpp refused), ABORTED.
 */
import type { LlamaEmbeddingContext, LlamaModel, Token } from 'node-llama-cpp'
import { MiradorError } from '../../engine/errors.js'
import { defaultThreads } from './generate.js'
import { acquireModel, getLlamaOnce, message } from './load.js'

export interface EmbedConfig {
  /** threads of the embedding context; undefined = the runtime's default for this machine */
  threads?: number | undefined
  /** the runtime's context size; the embedding context is at most this and the model's trained size */
  contextSize: number
  /** who holds the model (the runtime instance) */
  owner: object
}

interface EmbeddingEntry {
  context: Promise<LlamaEmbeddingContext>
  /** tokens the context holds */
  size: number
}

const contexts = new WeakMap<LlamaModel, EmbeddingEntry>()
let embeddingContexts = 0

/** How many embedding contexts this process has created (tests: one per model, reused). */
export function embeddingContextsCreated(): number {
  return embeddingContexts
}

function embeddingContext(model: LlamaModel, threads: number, contextSize: number): EmbeddingEntry {
  const known = contexts.get(model)
  if (known) return known
  const size = Math.max(8, Math.min(contextSize, model.trainContextSize || contextSize))
  const entry: EmbeddingEntry = {
    size,
    context: model.createEmbeddingContext({ threads, contextSize: size }).then(
      (ctx) => {
        embeddingContexts++
        return ctx
      },
      (err: unknown) => {
        if (contexts.get(model) === entry) contexts.delete(model)
        throw new MiradorError(
          'RUNTIME_FAILED',
          `llama.cpp could not create an embedding context for ${model.filename ?? 'the model'}: ${message(err)}`,
          { cause: err },
        )
      },
    ),
  }
  contexts.set(model, entry)
  return entry
}

function abortedError(file: string): MiradorError {
  return new MiradorError('ABORTED', `embedding with ${file} was cancelled`)
}

/** `p`, or ABORTED as soon as `signal` aborts (the shared work itself goes on). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, file: string): Promise<T> {
  if (!signal) return p
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(file))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}

export async function embedTexts(
  file: string,
  texts: string[],
  config: EmbedConfig,
  signal?: AbortSignal,
): Promise<number[][]> {
  if (signal?.aborted) throw abortedError(file)
  if (texts.length === 0) return []
  const lease = acquireModel(file, config.owner)
  try {
    const [llama, model] = await untilAborted(Promise.all([getLlamaOnce(), lease.model]), signal, file)
    const threads = config.threads ?? defaultThreads(llama.cpuMathCores)
    if (llama.maxThreads !== 0 && threads > llama.maxThreads) llama.maxThreads = threads
    let entry = embeddingContext(model, threads, config.contextSize)
    let context = await untilAborted(entry.context, signal, file)
    if (context.disposed) {
      contexts.delete(model)
      entry = embeddingContext(model, threads, config.contextSize)
      context = await untilAborted(entry.context, signal, file)
    }
    const bos = model.tokens.bos
    const out: number[][] = []
    for (const text of texts) {
      if (signal?.aborted) throw abortedError(file)
      // room for the BOS and EOS tokens llama.cpp adds; the input must be shorter than the context
      let tokens: Token[] = model.tokenize(text, false).slice(0, Math.max(1, entry.size - 3))
      if (tokens.length === 0) {
        if (bos === null) {
          out.push(new Array<number>(model.embeddingVectorSize).fill(0))
          continue
        }
        tokens = [bos]
      }
      try {
        const embedding = await context.getEmbeddingFor(tokens)
        out.push([...embedding.vector])
      } catch (err) {
        if (signal?.aborted) throw abortedError(file)
        throw new MiradorError('RUNTIME_FAILED', `llama.cpp could not embed a text with ${file}: ${message(err)}`, {
          cause: err,
        })
      }
    }
    return out
  } finally {
    lease.release()
  }
}
