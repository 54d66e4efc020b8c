/**
 * `POST /v1/embeddings`: OpenAI's embeddings in its shape, made by the memory plugin's embedder
 * through its public capability (`memory.embed`), whatever `model` the request names; the answer's
 * `model` says which embedder it was. The server keeps no embedder of its own, so vectors from here
 * live in the same space as what memory recalls with.
 */
import type { FastifyInstance } from 'fastify'
import type { Engine } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import { sendError, statusOf } from '../errors.js'

/** a request's size: as many inputs as memory.embed takes at once, and a bound on the CPU one request can ask for */
export const MAX_INPUTS = 256
export const MAX_CHARS = 100_000
const CAPABILITY = 'memory.embed'

type Parsed = { texts: string[]; base64: boolean } | { error: string }

export function parseEmbeddingsRequest(body: unknown): Parsed {
  const b = (body ?? {}) as { input?: unknown; encoding_format?: unknown; dimensions?: unknown }
  if (typeof body !== 'object' || body === null) return { error: 'the body must be a JSON object with `input`' }
  const texts = typeof b.input === 'string' ? [b.input] : b.input
  if (!Array.isArray(texts) || texts.length === 0)
    return { error: '`input` must be a string or a non-empty array of strings' }
  if (!texts.every((t): t is string => typeof t === 'string'))
    return { error: '`input` must hold strings: token arrays are not supported, send the text' }
  if (texts.some((t) => t.length === 0)) return { error: '`input` holds an empty string: there is nothing to embed' }
  if (texts.length > MAX_INPUTS) return { error: `\`input\` has ${texts.length} texts: send at most ${MAX_INPUTS}` }
  const chars = texts.reduce((n, t) => n + t.length, 0)
  if (chars > MAX_CHARS)
    return { error: `\`input\` has ${chars} characters in all: send at most ${MAX_CHARS} per request` }
  if (b.encoding_format !== undefined && b.encoding_format !== 'float' && b.encoding_format !== 'base64')
    return { error: '`encoding_format` must be "float" or "base64"' }
  // the embedder's size is its own: asking for another would silently mean something else
  if (b.dimensions !== undefined) return { error: '`dimensions` is not supported: the memory embedder has one size' }
  return { texts, base64: b.encoding_format === 'base64' }
}

/** The embedder reports no tokens: words and punctuation marks are the count a reader can check. */
const tokensOf = (text: string) => text.match(/\w+|[^\s\w]/gu)?.length ?? 0

/** OpenAI's base64 form: the float32 values' little-endian bytes. */
function base64Of(v: number[]): string {
  const buf = Buffer.alloc(v.length * 4)
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4))
  return buf.toString('base64')
}

export function embeddingsRoute(app: FastifyInstance, engine: Engine): void {
  app.post('/v1/embeddings', async (req, reply) => {
    const parsed = parseEmbeddingsRequest(req.body)
    if ('error' in parsed) return sendError(reply, 400, parsed.error, 'invalid_input')
    const embed = engine.capability(CAPABILITY)
    // 404, not a 5xx: OpenAI's clients retry those, and this one will not change by itself
    if (!engine.settings.memory || !embed) {
      const why = 'embeddings come from the memory embedder, and memory is off on this server'
      return sendError(reply, 404, `${why}: start \`mirador serve\` with memory on`, 'MEMORY_OFF')
    }
    let answer: { embedder: string; vectors: number[][] }
    try {
      answer = (await embed({ texts: parsed.texts })) as typeof answer
    } catch (err) {
      const e = MiradorError.from(err)
      return sendError(reply, statusOf(e.code) === 400 ? 400 : 502, e.message, e.code)
    }
    if (answer?.vectors?.length !== parsed.texts.length)
      return sendError(reply, 502, `${CAPABILITY} answered ${answer?.vectors?.length} vectors`, 'PLUGIN_FAILED')
    const tokens = parsed.texts.reduce((n, t) => n + tokensOf(t), 0)
    return {
      object: 'list',
      model: answer.embedder,
      data: answer.vectors.map((v, index) => ({
        object: 'embedding',
        index,
        embedding: parsed.base64 ? base64Of(v) : v,
      })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    }
  })
}
