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
 *    `minSimilarity`. The embeddings of rated queries are the ones the journal kept (their text is
 *    not kept), so only those made by the same embedder as the query's count; an old journal's
 *    text is embedded here. The learner passes the memory's embedder (the same meaning space as
 *    recall), or the built-in hashing embedder, which is lexical: it groups queries that share
 *    words and word stems, not meanings. `embedder: false` turns this off.
 * 4. Otherwise `general`.
 *
 * Only the first CLASSIFY_CHARS characters of a query are looked at: a query's kind shows in its
 * opening, and a pasted 10 MB document must not cost seconds before its run starts.
 */
import { analyze } from '../../lib/bm25.js'
import { createHashingEmbedder, l2normalize, type Embedder } from '../../lib/embedder.js'
import type { StoredVector } from './types.js'

export const DEFAULT_TYPE = 'general'
/**
 * Cosine similarity a query needs to a type's centroid. Calibrated for the hashing embedder, where
 * a query sharing a word or stem with a type's queries scores about 0.25–0.4 and an unrelated one
 * below about 0.12; embedding models score unrelated texts higher (often 0.3–0.5), so a caller
 * passing one should pass a higher `minSimilarity` too.
 */
export const DEFAULT_MIN_SIMILARITY = 0.2
/**
 * The same for a sentence-embedding model. Universal Sentence Encoder, measured on this kind of
 * machine: 0.47 between a question and its paraphrase, 0.15 against an unrelated sentence.
 */
export const DEFAULT_MIN_SIMILARITY_MODEL = 0.35
/** characters of a query classification looks at */
export const CLASSIFY_CHARS = 4000
/** rated queries a type needs before it has a centroid */
export const DEFAULT_MIN_RATED = 2

export interface ClassifyOptions {
  chains: readonly { name: string; triggers?: readonly string[] }[]
  /** type → keywords (config) */
  rules?: Readonly<Record<string, readonly string[]>>
  /**
   * earlier rated queries and their types, for the centroids: their kept embedding (used when the
   * same embedder made it) or, from an old journal, their text
   */
  rated?: Lazy<readonly RatedQuery[]>
  /** for the centroids; default the hashing embedder; false: no centroid step */
  embedder?: Lazy<Embedder> | false
  /** default DEFAULT_MIN_SIMILARITY for the hashing embedder, else DEFAULT_MIN_SIMILARITY_MODEL */
  minSimilarity?: number
  minRated?: number
  signal?: AbortSignal
}

/** a value, or how to get it: asked for only when the centroid step is reached */
type Lazy<T> = T | (() => Promise<T>)

const resolve = async <T>(v: Lazy<T>): Promise<T> => (typeof v === 'function' ? (v as () => Promise<T>)() : v)

export interface RatedQuery {
  type: string
  vector?: StoredVector
  query?: string
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
  const found = new Map(texts.flatMap((t) => (cache.has(key(t)) ? [[t, cache.get(key(t))!] as const] : [])))
  const missing = [...new Set(texts.filter((t) => !found.has(t)))]
  if (missing.length) {
    const vs = await embedder.embed(missing, signal ? { signal } : {})
    missing.forEach((t, i) => {
      if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!)
      cache.set(key(t), vs[i]!)
      found.set(t, vs[i]!)
    })
  }
  return texts.map((t) => found.get(t)!)
}

/** The query's embedding as classification sees it (its first CLASSIFY_CHARS characters; cached). */
export async function queryVector(embedder: Embedder, query: string, signal?: AbortSignal): Promise<number[]> {
  const [v] = await embedAll(embedder, [query.slice(0, CLASSIFY_CHARS)], signal)
  return v!
}

const dot = (a: readonly number[], b: readonly number[]) => {
  let s = 0
  for (let i = 0; i < Math.min(a.length, b.length); i++) s += a[i]! * b[i]!
  return s
}

let defaultEmbedder: Embedder | undefined

/** The query's type and why (see the file's comment). */
export async function classify(fullQuery: string, options: ClassifyOptions): Promise<Classification> {
  const query = fullQuery.length > CLASSIFY_CHARS ? fullQuery.slice(0, CLASSIFY_CHARS) : fullQuery
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

  let best: Awaited<ReturnType<typeof nearestCentroid>>
  try {
    best =
      options.embedder !== false && options.rated && query.trim() !== ''
        ? await nearestCentroid(query, options)
        : undefined
  } catch (err) {
    // an embedder that fails (a memory service that went away) costs the centroid step, not the run
    const why = err instanceof Error ? err.message : String(err)
    const detail = `no rule or trigger matched, and the rated queries could not be compared (${why})`
    return { type: DEFAULT_TYPE, via: 'default', detail, triggered }
  }
  if (best) {
    return {
      type: best.type,
      via: 'centroid',
      detail:
        `closest to the ${best.n} rated "${best.type}" queries ` + `(similarity ${best.sim.toFixed(2)} ≥ ${best.min})`,
      triggered,
    }
  }
  return { type: DEFAULT_TYPE, via: 'default', detail: 'no rule, trigger or similar rated query matched', triggered }
}

/** The type whose rated queries' centroid is nearest the query, if near enough. */
async function nearestCentroid(
  query: string,
  options: ClassifyOptions,
): Promise<{ type: string; sim: number; n: number; min: number } | undefined> {
  const minRated = options.minRated ?? DEFAULT_MIN_RATED
  const rated = await resolve(options.rated ?? [])
  const perType = new Map<string, number>()
  for (const r of rated) perType.set(r.type, (perType.get(r.type) ?? 0) + 1)
  if (![...perType.values()].some((n) => n >= minRated)) return undefined
  const embedder = options.embedder ? await resolve(options.embedder) : (defaultEmbedder ??= createHashingEmbedder())
  const min =
    options.minSimilarity ??
    (embedder.id.startsWith('hashing-') ? DEFAULT_MIN_SIMILARITY : DEFAULT_MIN_SIMILARITY_MODEL)
  // a kept vector counts only in its own embedder's space; an old journal's text is embedded now
  type Usable = { type: string; vector: number[] } | { type: string; text: string }
  const usable = rated.flatMap((r): Usable[] => {
    if (r.type === '') return []
    if (r.vector?.embedder === embedder.id) return [{ type: r.type, vector: r.vector.values }]
    const text = r.query?.slice(0, CLASSIFY_CHARS)
    return text?.trim() ? [{ type: r.type, text }] : []
  })
  const byType = new Map<string, Usable[]>()
  for (const r of usable) byType.set(r.type, [...(byType.get(r.type) ?? []), r])
  const groups = [...byType].filter(([, rs]) => rs.length >= minRated)
  if (!groups.length) return undefined
  const texts = [query, ...groups.flatMap(([, rs]) => rs.flatMap((r) => ('text' in r ? [r.text] : [])))]
  const embedded = await embedAll(embedder, texts, options.signal)
  const qv = embedded[0]!
  let at = 1
  let best: { type: string; sim: number; n: number; min: number } | undefined
  for (const [type, rs] of groups) {
    const centroid = new Array<number>(qv.length).fill(0)
    for (const r of rs) {
      const v = 'vector' in r ? r.vector : embedded[at++]!
      for (let i = 0; i < centroid.length; i++) centroid[i]! += v[i] ?? 0
    }
    const sim = dot(qv, l2normalize(centroid))
    if (!best || sim > best.sim) best = { type, sim, n: rs.length, min }
  }
  return best && best.sim >= min ? best : undefined
}
