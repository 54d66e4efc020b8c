/**
 * Hybrid recall: the vector search over-fetches candidates, then each candidate is scored by
 *
 *   score = w.vector · V + w.lexical · L + w.recency · R
 *
 * - V, vector: the candidate's cosine similarity (1 − distance) min-max scaled over the
 *   candidates (the best is 1, the worst 0; all 1 when they are equal). Scaling makes the weight
 *   mean the same whatever range an embedding model's similarities fall in.
 * - L, lexical: BM25 of the query against the candidates only (bm25.ts, k1 1.2, b 0.75, the
 *   tokenizer the hashing embedder uses), divided by the best candidate's BM25 (so the best
 *   lexical match is 1); 0 for all when no candidate shares a term with the query. (Dividing by
 *   the query's ideal score instead, Σ IDF, was tried: query words that no candidate holds then
 *   shrink every L alike and quietly hand the ranking to the vector part; on the tuning half it
 *   was no better at the best weights and worse at the vector-heavy ones.)
 * - R, recency: 0.5 ^ (age in days / halfLifeDays), from the memory's `createdAt`.
 * The weights are made to sum to 1, so the score is in [0, 1].
 *
 * Two presets (`tuningFor(embedder.id)` picks one; `recall` uses it unless given weights):
 * - HASHING_TUNING, for the built-in hashing embedder, was MEASURED on the labelled set
 *   bench/data/memory-recall.json: a grid search (weights in steps of 0.1, half-lives 30, 90, 180,
 *   365 days) on the tuning half only (odd-numbered queries), taking the point whose grid
 *   neighbourhood has the best mean recall@5 (the surface is flat to within a query or two, so a
 *   single best point would be noise); bench/memory-recall.ts reports it on the held-out half.
 *   Its vector weight came out 0: that embedder is itself lexical (its vectors carry the words
 *   BM25 sees, without IDF), so its similarity adds nothing to BM25 once it has chosen the
 *   candidates; recency settles what BM25 leaves tied (memories that share no word with the query).
 * - MODEL_TUNING, for embedding models served by a runtime, was NOT measured: no sentence-embedding
 *   model exists on the machines this was built on. It is a prior (dense similarity first, as
 *   convex hybrid fusion usually is, BM25 second), to be measured with a real model.
 *
 * `recall` embeds the query, asks the store for k × overfetch nearest memories (within a session
 * when given), ranks them all, drops those whose similarity (1 − distance, the embedder's absolute
 * measure) is below `threshold`, and returns the best k with every component, for provenance.
 * The threshold is on similarity and not on the score because the score is relative to the
 * candidate set (V's scaling, BM25's IDF) and rewards recent memories: it always ranks something
 * first, however unrelated.
 */
import { MiradorError } from '../../engine/errors.js'
import { bm25, tokenize } from '../../lib/bm25.js'
import type { Embedder } from '../../lib/embedder.js'
import type { MemoryStore, VectorHit } from './types.js'

export interface RankWeights {
  vector: number
  lexical: number
  recency: number
}

/** Weights and recency half-life, as a pair. */
export interface RecallTuning {
  weights: Readonly<RankWeights>
  halfLifeDays: number
}

/** For the hashing embedder: measured on the tuning half of the labelled set (see above). */
export const HASHING_TUNING: Readonly<RecallTuning> = Object.freeze({
  weights: Object.freeze({ vector: 0, lexical: 0.8, recency: 0.2 }),
  halfLifeDays: 365,
})

/** For embedding models: a prior, not measured here (see above). */
export const MODEL_TUNING: Readonly<RecallTuning> = Object.freeze({
  weights: Object.freeze({ vector: 0.6, lexical: 0.3, recency: 0.1 }),
  halfLifeDays: 180,
})

/** The preset for an embedder, by its id: HASHING_TUNING for `hashing-…`, else MODEL_TUNING. */
export function tuningFor(embedderId: string | undefined): Readonly<RecallTuning> {
  return embedderId?.startsWith('hashing-') ? HASHING_TUNING : MODEL_TUNING
}

/** rankMemories' defaults when it is given no weights or half-life: MODEL_TUNING's */
export const DEFAULT_WEIGHTS: Readonly<RankWeights> = MODEL_TUNING.weights
export const DEFAULT_HALF_LIFE_DAYS = MODEL_TUNING.halfLifeDays
export const DEFAULT_OVERFETCH = 4

const DAY_MS = 86_400_000

/** A candidate with its score and the parts of it. */
export interface Ranked extends VectorHit {
  /** the combined score, in [0, 1] */
  score: number
  /** each part of the score before weighting, each in [0, 1] */
  components: { vector: number; lexical: number; recency: number }
  /** 1 − distance: cosine similarity to the query */
  similarity: number
  /** the raw BM25 score over the candidate set */
  bm25: number
}

export interface RankOptions {
  /** ms since the epoch: the time recency is measured from */
  now: number
  /** default DEFAULT_WEIGHTS (MODEL_TUNING's); missing parts count 0 when some are given; made to sum to 1 */
  weights?: Partial<RankWeights>
  /** days for recency to halve (default DEFAULT_HALF_LIFE_DAYS) */
  halfLifeDays?: number
  /** how many to return */
  k: number
}

function resolveWeights(given: Partial<RankWeights> | undefined): RankWeights {
  const w = given ?? DEFAULT_WEIGHTS
  const out = { vector: w.vector ?? 0, lexical: w.lexical ?? 0, recency: w.recency ?? 0 }
  const values = Object.values(out)
  if (values.some((x) => !Number.isFinite(x) || x < 0) || values.every((x) => x === 0))
    throw new MiradorError('USAGE', `recall weights must be numbers ≥ 0, not all 0; got ${JSON.stringify(w)}`)
  const sum = out.vector + out.lexical + out.recency
  return { vector: out.vector / sum, lexical: out.lexical / sum, recency: out.recency / sum }
}

/** Scores candidates (see the file's comment) and returns the best `k`, best first. */
export function rankMemories(query: string, candidates: readonly VectorHit[], options: RankOptions): Ranked[] {
  const w = resolveWeights(options.weights)
  const halfLife = options.halfLifeDays ?? DEFAULT_HALF_LIFE_DAYS
  if (!(halfLife > 0)) throw new MiradorError('USAGE', `recall halfLifeDays must be > 0, not ${halfLife}`)
  const k = Math.max(0, Math.floor(options.k))
  if (candidates.length === 0 || k === 0) return []

  const sims = candidates.map((c) => 1 - c.distance)
  let lo = Infinity
  let hi = -Infinity
  for (const s of sims) {
    if (s < lo) lo = s
    if (s > hi) hi = s
  }
  const span = hi - lo
  const lex = bm25(
    tokenize(query),
    candidates.map((c) => tokenize(c.text)),
  )
  let best = 0
  for (const x of lex.scores) if (x > best) best = x

  const ranked = candidates.map((c, i): Ranked => {
    const vector = span > 1e-12 ? (sims[i]! - lo) / span : 1
    const lexical = best > 0 ? lex.scores[i]! / best : 0
    const ageDays = Math.max(0, (options.now - c.meta.createdAt) / DAY_MS)
    const recency = Math.pow(0.5, ageDays / halfLife)
    return {
      ...c,
      score: w.vector * vector + w.lexical * lexical + w.recency * recency,
      components: { vector, lexical, recency },
      similarity: sims[i]!,
      bm25: lex.scores[i]!,
    }
  })
  ranked.sort(
    (a, b) =>
      b.score - a.score ||
      b.similarity - a.similarity ||
      b.meta.createdAt - a.meta.createdAt ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )
  return ranked.slice(0, k)
}

export interface RecallOptions {
  store: Pick<MemoryStore, 'query'>
  /** its `id` picks the default weights (tuningFor) */
  embedder: Pick<Embedder, 'embed'> & { readonly id?: string }
  query: string
  /** how many memories to return at most */
  k: number
  /** the store is asked for k × overfetch candidates (default 4) */
  overfetch?: number
  /** minimum similarity (1 − distance) a memory needs; default none */
  threshold?: number
  /** only memories of this session */
  session?: string
  /** default Date.now() */
  now?: number
  /** default tuningFor(embedder.id) */
  weights?: Partial<RankWeights>
  /** default tuningFor(embedder.id) */
  halfLifeDays?: number
  signal?: AbortSignal
}

/** Embeds the query, over-fetches from the store, ranks, applies the threshold; best first. */
export async function recall(options: RecallOptions): Promise<Ranked[]> {
  const { store, embedder, query, k } = options
  const overfetch = options.overfetch ?? DEFAULT_OVERFETCH
  if (!(Number.isInteger(k) && k >= 1)) throw new MiradorError('USAGE', `recall k must be a whole number ≥ 1, not ${k}`)
  if (!(Number.isInteger(overfetch) && overfetch >= 1))
    throw new MiradorError('USAGE', `recall overfetch must be a whole number ≥ 1, not ${overfetch}`)
  const [vector] = await embedder.embed([query], options.signal ? { signal: options.signal } : {})
  if (!vector) throw new MiradorError('INTERNAL', 'the embedder returned no vector for the query')
  const hits = await store.query(
    vector,
    k * overfetch,
    options.session === undefined ? undefined : { session: options.session },
  )
  const preset = tuningFor(embedder.id)
  const ranked = rankMemories(query, hits, {
    now: options.now ?? Date.now(),
    k: hits.length,
    weights: options.weights ?? preset.weights,
    halfLifeDays: options.halfLifeDays ?? preset.halfLifeDays,
  })
  const threshold = options.threshold
  return (threshold === undefined ? ranked : ranked.filter((r) => r.similarity >= threshold)).slice(0, k)
}

/** What the `memory` event shows of a recalled memory: its id and scores, rounded. */
export function provenance(r: Ranked): {
  id: string
  score: number
  similarity: number
  vector: number
  lexical: number
  recency: number
} {
  const round = (x: number) => Math.round(x * 1e4) / 1e4
  return {
    id: r.id,
    score: round(r.score),
    similarity: round(r.similarity),
    vector: round(r.components.vector),
    lexical: round(r.components.lexical),
    recency: round(r.components.recency),
  }
}
