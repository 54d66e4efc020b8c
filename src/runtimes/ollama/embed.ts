/**
 * Embeddings through Ollama's `/api/embed` (the client's `embed`, every text in one batch request,
 * `truncate: true` so an over-long text is cut to the model's context rather than refused).
 *
 * - One call, bounded by `firstTokenTimeoutMs` (the first embed may have to load the model), the
 *   caller's signal and dispose(); failures are MiradorErrors mapped as for every one-shot call
 *   (call.ts): RUNTIME_UNREACHABLE, RUNTIME_TIMEOUT, RUNTIME_FAILED (e.g. a model that cannot
 *   embed), RUNTIME_PROTOCOL, ABORTED.
 * - A model the server does not have is MODEL_MISSING telling the user to `ollama pull` it: embed
 *   never pulls by itself (an embedding model is small and named once in the manifest; pull it, or
 *   let the model manager's prepare() do so under the usual pull rules, before the first recall).
 * - Vectors are returned as Ollama sends them (Ollama normalises them); an answer without exactly
 *   one non-empty, finite vector per text, all of one length, is RUNTIME_PROTOCOL.
 * - Nothing is printed (the client's fetch is guarded: client.ts).
 */
import { MiradorError } from '../../engine/errors.js'
import { callOllama, type CallEnv } from './call.js'
import { displayHost } from './host.js'

export interface EmbedEnv extends CallEnv {
  /** the deadline of one embed call */
  firstTokenTimeoutMs: number
}

export async function embedTexts(
  env: EmbedEnv,
  model: string,
  texts: string[],
  options: { signal?: AbortSignal | undefined } = {},
): Promise<number[][]> {
  if (options.signal?.aborted) throw new MiradorError('ABORTED', `Cancelled while embedding with ${model}.`)
  if (texts.length === 0) return []
  let res: { embeddings?: unknown }
  try {
    res = await callOllama(env, model, (c) => c.embed({ model, input: texts, truncate: true }), {
      signal: options.signal,
      timeoutMs: env.firstTokenTimeoutMs,
      doing: `embedding with ${model}`,
    })
  } catch (err) {
    if (MiradorError.is(err, 'MODEL_MISSING')) {
      throw new MiradorError(
        'MODEL_MISSING',
        `embedding model ${model} is not on the Ollama server at ${displayHost(env.host)}; ` +
          `run \`ollama pull ${model}\``,
        { cause: err, details: { host: env.host, model } },
      )
    }
    throw err
  }
  const vectors = res.embeddings
  const bad = (why: string): MiradorError =>
    new MiradorError(
      'RUNTIME_PROTOCOL',
      `Ollama at ${displayHost(env.host)} answered an embed request for ${model} with ${why}. ` +
        "Check that OLLAMA_HOST (or the model's `host`) points at an Ollama server " +
        'that supports /api/embed (Ollama 0.3.4 or later).',
      { details: { host: env.host, model } },
    )
  if (!Array.isArray(vectors)) throw bad('no `embeddings` array')
  if (vectors.length !== texts.length) throw bad(`${vectors.length} vectors for ${texts.length} texts`)
  const dims = Array.isArray(vectors[0]) ? vectors[0].length : 0
  for (const v of vectors) {
    if (
      !Array.isArray(v) ||
      v.length === 0 ||
      v.length !== dims ||
      !v.every((x) => typeof x === 'number' && Number.isFinite(x))
    )
      throw bad('a vector that is empty, not numeric or of another length than the rest')
  }
  return vectors as number[][]
}
