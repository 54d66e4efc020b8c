/**
 * The embedder the learner classifies with: memory's own, through the `memory.embed` capability,
 * so query types are learned in the same meaning space as recall; the built-in hashing embedder
 * (lib/embedder.ts, offline, lexical) when memory is off, when no plugin offers the capability, or
 * when it does not answer. Whichever it is, its id goes with every vector the journal keeps, and
 * vectors of another embedder are never compared (classify.ts).
 *
 * The capability's contract: `{ texts: string[] }` → `{ embedder: string, vectors: number[][] }`,
 * one vector per text, `embedder` naming the space (as `Embedder.id` does). Asked with no texts,
 * it names its embedder without embedding anything; the learner asks once per process.
 */
import type { PluginHost } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import { createHashingEmbedder, l2normalize, type Embedder } from '../../lib/embedder.js'

export const EMBED_CAPABILITY = 'memory.embed'

interface EmbedAnswer {
  embedder: string
  vectors: number[][]
}

function answerOf(v: unknown, count: number): EmbedAnswer {
  const a = v as Partial<EmbedAnswer> | null
  const ok =
    !!a &&
    typeof a.embedder === 'string' &&
    a.embedder.length > 0 &&
    Array.isArray(a.vectors) &&
    a.vectors.length === count &&
    a.vectors.every((x) => Array.isArray(x) && x.length > 0 && x.every((n) => typeof n === 'number' && isFinite(n)))
  if (!ok)
    throw new MiradorError(
      'PLUGIN_FAILED',
      `${EMBED_CAPABILITY} answered something other than { embedder, vectors } with ${count} vector(s)`,
    )
  return a as EmbedAnswer
}

/** Memory's embedder if it answers, else the hashing embedder (see the file's comment). */
export async function learnerEmbedder(host: PluginHost): Promise<Embedder> {
  const capability = host.settings.memory ? host.capability(EMBED_CAPABILITY) : undefined
  if (!capability) return createHashingEmbedder()
  let id: string
  try {
    id = answerOf(await capability({ texts: [] }), 0).embedder
  } catch {
    return createHashingEmbedder()
  }
  let dims: number | undefined
  return {
    id,
    get dims() {
      return dims
    },
    async embed(texts: string[]): Promise<number[][]> {
      if (texts.length === 0) return []
      const a = answerOf(await capability({ texts }), texts.length)
      if (a.embedder !== id)
        throw new MiradorError('PLUGIN_FAILED', `${EMBED_CAPABILITY} changed embedder from ${id} to ${a.embedder}`)
      dims ??= a.vectors[0]!.length
      return a.vectors.map((v) => l2normalize([...v]))
    },
  }
}
