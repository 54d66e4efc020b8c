/**
 * Query types: which kind of question a query is, so ratings of one kind of question (planning,
 * coding, …) move only the weights for that kind. Decided in this order; the first that matches
 * wins:
 *
 * 1. Keyword rules from config (`rules: { planning: [plan, schedule, "next week"] }`): a keyword
 *    matches when its words occur in the query as whole words, in order and next to each other,
 *    after the same analysis the memory's BM25 and hashing embedder use (bm25.ts `analyze`: case,
 *    accents, stop words, light stemming), so "plan" matches "Planning my week" and "next week"
 *    matches "the next weeks". Stop words are ignored on both sides ("plan for trip" matches "plan
 *    a trip"), so a keyword made only of stop words ("how") can never match: see
 *    `unmatchableKeywords`. When several rules match, the one whose matched keywords hold the most
 *    words wins, ties going to the rule written first.
 * 2. Chain triggers (a chain's `triggers:`, same matching). The type is then the triggered chain's
 *    own name, made a valid type name (a chain `planner` with `triggers: [plan]` learns its
 *    weight for type `planner`): the trigger says "queries like this are this chain's kind", and
 *    the chain's weights for that type say how well it (and others) answer them. With several
 *    triggered chains, the one with the most matched words wins, ties to the first listed.
 *    Whatever the type, `triggered` lists every triggered chain, so the router can make them
 *    candidates.
 * 3. Nearest centroid: the earlier rated queries are grouped by their type; each type with at
 *    least `minRated` queries has a centroid (the normalised mean of their embeddings), and the
 *    query takes the type of the nearest one if the cosine similarity is at least
 *    `minSimilarity`. The embedder is the memory's (a real embedding model when one is
 *    configured), or by default the built-in hashing embedder, which is lexical: it groups
 *    queries that share words and word stems, not meanings. `embedder: false` turns this off.
 * 4. Otherwise `general`.
 */
import { analyze } from '../../lib/bm25.js'
import { createHashingEmbedder, l2normalize, type Embedder } from '../../lib/embedder.js'

export const DEFAULT_TYPE = 'general'
/**
 * Cosine similarity a query needs to a type's centroid. Calibrated for the hashing embedder, where
 * a query sharing a word or stem with a type's queries scores about 0.25–0.4 and an unrelated one
 * below about 0.12; embedding models score unrelated texts higher (often 0.3–0.5), so a caller
 * passing one should pass a higher `minSimilarity` too.
 */
export const DEFAULT_MIN_SIMILARITY = 0.2
/** rated queries a type needs before it has a centroid */
export const DEFAULT_MIN_RATED = 2

export interface ClassifyOptions {
  chains: readonly { name: string; triggers?: readonly string[] }[]
  /** type → keywords (config) */
  rules?: Readonly<Record<string, readonly string[]>>
  /** earlier rated queries and their types, for the centroids */
  rated?: readonly { query: string; type: string }[]
  /** for the centroids; default the hashing embedder; false: no centroid step */
  embedder?: Embedder | false
  minSimilarity?: number
  minRated?: number
  signal?: AbortSignal
}

export interface Classification {
  type: string
  via: 'rule' | 'trigger' | 'centroid' | 'default'
  /** what matched, for `--explain` */
  detail: string
  /** chains whose triggers the query matches, best match first */
  triggered: string[]
}

const TYPE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/

/** A chain name as a type name (the weights' keys allow letters, digits, _ . -, 64 at most). */
export function typeNameOf(chain: string): string {
  if (TYPE_NAME.test(chain)) return chain
  const t = chain
    .replace(/[^a-zA-Z0-9_.-]+/g, '-')
    .replace(/^[^a-zA-Z0-9]+/, '')
    .slice(0, 64)
  return t || DEFAULT_TYPE
}

/** The analysed terms of a keyword or phrase (empty when it is only stop words). */
const termsOf = (phrase: string): string[] => analyze(phrase).terms

/** Whether `needle` occurs in `hay` as a run of adjacent terms. */
function containsRun(hay: readonly string[], needle: readonly string[]): boolean {
  if (needle.length === 0 || needle.length > hay.length) return false
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    return true
  }
  return false
}

interface Match {
  name: string
  order: number
  keywords: string[]
  words: number
}

function matchLists(
  terms: readonly string[],
  lists: readonly { name: string; keywords: readonly string[] }[],
): Match[] {
  const out: Match[] = []
  lists.forEach(({ name, keywords }, order) => {
    const hit: string[] = []
    let words = 0
    for (const k of keywords) {
      const t = termsOf(k)
      if (containsRun(terms, t)) {
        hit.push(k)
        words += t.length
      }
    }
    if (hit.length) out.push({ name, order, keywords: hit, words })
  })
  return out.sort((a, b) => b.words - a.words || a.order - b.order)
}

const quoted = (ks: readonly string[]) => ks.map((k) => `"${k}"`).join(', ')

/** Keywords (rules or triggers) that can never match because analysis leaves no word of them. */
export function unmatchableKeywords(
  lists: Readonly<Record<string, readonly string[]>>,
): { name: string; keyword: string }[] {
  return Object.entries(lists).flatMap(([name, ks]) =>
    ks.filter((k) => termsOf(k).length === 0).map((keyword) => ({ name, keyword })),
  )
}

/** Embedding cache: (embedder id, text) → unit vector, so the rated queries are embedded once per process. */
const cache = new Map<string, number[]>()
const CACHE_MAX = 5000

async function embedAll(embedder: Embedder, texts: readonly string[], signal?: AbortSignal): Promise<number[][]> {
  const key = (t: string) => `${embedder.id}\u0000${t}`
  const missing = [...new Set(texts.filter((t) => !cache.has(key(t))))]
  if (missing.length) {
    const vs = await embedder.embed(missing, signal ? { signal } : {})
    missing.forEach((t, i) => {
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!)
      cache.set(key(t), vs[i]!)
    })
  }
  return texts.map((t) => cache.get(key(t))!)
}

const dot = (a: readonly number[], b: readonly number[]) => {
  let s = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) s += a[i]! * b[i]!
  return s
}

let defaultEmbedder: Embedder | undefined

/** The query's type and why (see the file's comment). */
export async function classify(query: string, options: ClassifyOptions): Promise<Classification> {
  const terms = termsOf(query)
  const triggers = matchLists(
    terms,
    options.chains.map((c) => ({ name: c.name, keywords: c.triggers ?? [] })),
  )
  const triggered = triggers.map((m) => m.name)

  const rules = matchLists(
    terms,
    Object.entries(options.rules ?? {}).map(([name, keywords]) => ({ name, keywords })),
  )
  if (rules.length) {
    const r = rules[0]!
    return {
      type: r.name,
      via: 'rule',
      detail: `${r.keywords.length > 1 ? 'keywords' : 'keyword'} ${quoted(r.keywords)} of rule "${r.name}"`,
      triggered,
    }
  }
  if (triggers.length) {
    const t = triggers[0]!
    return {
      type: typeNameOf(t.name),
      via: 'trigger',
      detail: `${t.keywords.length > 1 ? 'triggers' : 'trigger'} ${quoted(t.keywords)} of chain ${t.name}`,
      triggered,
    }
  }

  const embedder =
    options.embedder === false ? undefined : (options.embedder ?? (defaultEmbedder ??= createHashingEmbedder()))
  const rated = (options.rated ?? []).filter((r) => r.query.trim() !== '' && r.type !== '')
  if (embedder && rated.length && query.trim() !== '') {
    const minRated = options.minRated ?? DEFAULT_MIN_RATED
    const minSimilarity = options.minSimilarity ?? DEFAULT_MIN_SIMILARITY
    const byType = new Map<string, string[]>()
    for (const r of rated) byType.set(r.type, [...(byType.get(r.type) ?? []), r.query])
    const groups = [...byType].filter(([, qs]) => qs.length >= minRated)
    if (groups.length) {
      const texts = [query, ...groups.flatMap(([, qs]) => qs)]
      const vectors = await embedAll(embedder, texts, options.signal)
      const qv = vectors[0]!
      let at = 1
      let best: { type: string; sim: number; n: number } | undefined
      for (const [type, qs] of groups) {
        const members = vectors.slice(at, at + qs.length)
        at += qs.length
        const centroid = new Array<number>(qv.length).fill(0)
        for (const v of members) for (let i = 0; i < centroid.length; i++) centroid[i]! += v[i] ?? 0
        const sim = dot(qv, l2normalize(centroid))
        if (!best || sim > best.sim) best = { type, sim, n: qs.length }
      }
      if (best && best.sim >= minSimilarity)
        return {
          type: best.type,
          via: 'centroid',
          detail:
            `closest to the ${best.n} rated "${best.type}" queries ` +
            `(similarity ${best.sim.toFixed(2)} ≥ ${minSimilarity})`,
          triggered,
        }
    }
  }
  return { type: DEFAULT_TYPE, via: 'default', detail: 'no rule, trigger or similar rated query matched', triggered }
}
