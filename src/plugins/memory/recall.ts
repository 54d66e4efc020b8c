/**
 * Recall fuses two rankings of the same memories: by meaning (the embedder's vectors) and by words
 * (BM25). Vectors win on paraphrases ("when was my sibling born?" finds "my sister's birthday is …");
 * words win on names, dates, places and rare entities, which a sentence encoder blurs ("what's
 * happening on 18 November?", "what did I pay at Norauto Caluire?").
 *
 * Candidates: the vector search's nearest k × overfetch memories and, when recall is given a word
 * source (words.ts: BM25 over every memory of the collection, or of the session, from an index kept
 * in the memory service's memory), its best `wordCandidates` that the vectors did not bring, each
 * with its cosine to the query computed from its stored vector. Without one, a memory whose only tie
 * to the question is a name, and that the vectors rank below k × overfetch, is never a candidate;
 * in a store of thousands that is common ("Who is Bertrand Lefort?" ranks the memory that says who
 * he is 57th of 169 by vector, first by BM25). Each candidate is then scored by
 *
 *   score = w.vector · V + w.lexical · L + w.recency · R
 *
 * - V, vector: the candidate's cosine similarity (1 − distance) min-max scaled over the
 *   candidates (the best is 1, the worst 0; all 1 when they are equal). Scaling makes the weight
 *   mean the same whatever range an embedding model's similarities fall in.
 * - L, lexical: BM25 of the query against the candidates only (lib/bm25.ts: k1 1.2, b 0.75, the
 *   tokenizer the hashing embedder uses), scaled one of two ways (`lexicalScale`):
 *   - `query` (query-adaptive, for embedding models): divided by the query's ideal score, Σ IDF of
 *     its terms over the candidates, capped at 1. A question naming something the candidates hold
 *     (a person, a place, a date: rare terms, high IDF) gives the memories that hold them an L near
 *     1, so words decide; a paraphrase shares only common words or none, every L stays small, and
 *     the vectors decide. The weight of words thus follows the question, with no classifier. Query
 *     words no candidate holds count in the ideal too (at the highest IDF): a question worded
 *     unlike every candidate leans on the vectors.
 *   - `best`: divided by the best candidate's BM25 (the best lexical match is 1, whatever it holds);
 *     for the hashing embedder, whose vectors are themselves lexical.
 *   0 for all when no candidate shares a term with the query.
 * - R, recency: 0.5 ^ (age in days / halfLifeDays), from the memory's `createdAt`.
 * The weights are made to sum to 1, so the score is in [0, 1].
 *
 * Then updated facts (supersede.ts, for embedding models): a candidate that a later candidate
 * supersedes (close vectors, a word only the two share, among at least MIN_COMPARED candidates) and
 * whose successor scores within `supersede.margin` of it is placed right below that successor, and
 * says so (`supersededBy`).
 *
 * Two presets (`tuningFor(embedder.id)` picks one; `recall` uses it unless told otherwise), both
 * MEASURED with bench/memory-recall.ts on the tuning halves (odd-numbered questions) of its labelled
 * sets: bench/data/memory-recall.json (one person's facts, paraphrased questions),
 * bench/data/memory-recall-dialogue.json (multi-session dialogue: names, dates, places, updates),
 * and, for the word candidates, the dialogue set with 2,000 memories of another person's life added
 * (a larger store's scale). The held-out halves are what the bench reports.
 * - HASHING_TUNING, for the built-in hashing embedder: a grid search (weights in steps of 0.1,
 *   half-lives 30, 90, 180, 365 days) on the first set's tuning half, taking the point whose grid
 *   neighbourhood has the best mean recall@5 (the surface is flat to within a query or two, so a
 *   single best point would be noise). Its vector weight came out 0: that embedder is itself
 *   lexical (its vectors carry the words BM25 sees, without IDF), so its similarity adds nothing to
 *   BM25 once it has chosen the candidates; recency settles what BM25 leaves tied. (Dividing by
 *   the query's ideal score was no better there at the best weights, and worse at the vector-heavy
 *   ones. Word candidates, 5 to 20, changed nothing: its vectors already fetch by words; it has none.)
 * - MODEL_TUNING, for sentence-embedding models (measured with the bundled USE Lite): the same
 *   smoothed grid over the first two sets' tuning halves at once (mean of the two sets' recall@5),
 *   also over the over-fetch (4, 6, 8 × k), the lexical scale and the half-life (90–730 days), with
 *   the supersede rule at (0.7, 0.3); then the rule's similarity (0.6–0.8) and margin (0.1–1) at the
 *   chosen point, where similarity 0.7 with margins 0.2 to 1 tie for the best. Reciprocal-rank
 *   fusion (k0 5–60) was tried and lost to the score fusion on both sets (it throws away how far
 *   apart the scores are, and on paraphrases BM25's ranking is mostly noise). Over-fetching more
 *   raises what words can bring back (names the vectors rank 30th), at a small cost on paraphrases.
 *   Then its word candidates (used when recall has a word source): the grid again with 0, 5, 10 or
 *   20 of them, over the three sets' tuning halves. On the two small sets they change nothing at
 *   these weights (the vectors' 40 candidates already hold 97 % of the relevant memories); with
 *   2,000 memories more, 20 raise recall@5 from 63.8 % to 72.6 % (5: 69.5 %, 10: 70.1 %), the names
 *   and dates the vectors rank past 40th. The grid's best point with words moved the weights too
 *   (0.4/0.4/0.2, half-life 730 d, over-fetch 4: 77.6 % mean against 77.4 %), but it lost a question
 *   on the dialogue set's tuning half and the surface is flat to within a question or two, so only
 *   the word candidates were taken (on the held-out halves that point also did worse on personal
 *   facts: 79.9 % against 83.5 %). A run recalling by itself has no word source and uses the rest of
 *   the preset as it was. `bench/memory-recall.ts --tune` prints these searches.
 *
 * `recall` embeds the query (while the word source searches), asks the store for k × overfetch
 * nearest memories (within a session when given), adds the word candidates, ranks them all, drops
 * those that are not relevant (`isRelevant`: similarity, 1 − distance, the embedder's absolute
 * measure, below `threshold`, unless they hold the question's rare words), and returns the best k
 * with every component, for provenance. The threshold is on similarity and not on the score because
 * the score is relative to the candidate set (V's scaling, BM25's IDF) and rewards recent memories:
 * it always ranks something first, however unrelated.
 */
import { MiradorError } from '../../engine/errors.js'
import { bm25, tokenize } from '../../lib/bm25.js'
import { cosine, type Embedder } from '../../lib/embedder.js'
import { promote, successors, type SupersedeRule } from './supersede.js'
import type { MemoryStore, StoredVector, VectorHit, WordSource } from './types.js'

export interface RankWeights {
  vector: number
  lexical: number
  recency: number
}

/** How BM25 is scaled into L (see above). */
export type LexicalScale = 'query' | 'best'

/** Everything recall's ranking is tuned by. */
export interface RecallTuning {
  weights: Readonly<RankWeights>
  halfLifeDays: number
  /** the store is asked for k × overfetch candidates */
  overfetch: number
  /** and a word source, when recall has one, for this many more (words.ts); none when absent */
  wordCandidates?: number
  lexicalScale: LexicalScale
  /** updated facts (supersede.ts); none when absent */
  supersede?: Readonly<SupersedeRule>
  /**
   * The similarity a memory needs to count as relevant at all (the `threshold` option's default).
   * Measured on both labelled sets (all questions): with USE Lite, 0.3 keeps the right memory for 85 %
   * and 95 % of the questions, while a question about something the memories do not hold (another
   * person's facts, "dentist") still finds a closest memory at 0.3–0.57 about as often (87–96 %
   * pass): the encoder cannot say "nothing relevant" by similarity alone, so the threshold only drops
   * the clearly unrelated and ranking does the rest. The hashing embedder's similarities are lexical:
   * 0.1 means sharing a word or stem.
   */
  threshold: number
  /**
   * A memory holding the question's rare words is relevant whatever its similarity: its scaled BM25
   * (L, `query` scale only) at or above this. A one-word search ("quince", a name) gets a low cosine
   * from a sentence encoder; a question sharing no word with any memory keeps L at 0, so "nothing
   * relevant" still holds for it. None for the hashing embedder, whose similarity is already words.
   */
  lexicalGate?: number
}

/** For the hashing embedder: measured on the tuning half of the first labelled set (see above). */
export const HASHING_TUNING: Readonly<RecallTuning> = Object.freeze({
  weights: Object.freeze({ vector: 0, lexical: 0.8, recency: 0.2 }),
  halfLifeDays: 365,
  overfetch: 4,
  lexicalScale: 'best',
  threshold: 0.1,
})

/** For sentence-embedding models: measured with USE Lite on the tuning halves of both sets (see above). */
export const MODEL_TUNING: Readonly<RecallTuning> = Object.freeze({
  weights: Object.freeze({ vector: 0.5, lexical: 0.4, recency: 0.1 }),
  halfLifeDays: 180,
  overfetch: 8,
  wordCandidates: 20,
  lexicalScale: 'query',
  supersede: Object.freeze({ similarity: 0.7, margin: 0.3 }),
  threshold: 0.3,
  lexicalGate: 0.5,
})

/** The preset for an embedder, by its id: HASHING_TUNING for `hashing-…`, else MODEL_TUNING. */
export function tuningFor(embedderId: string | undefined): Readonly<RecallTuning> {
  return embedderId?.startsWith('hashing-') ? HASHING_TUNING : MODEL_TUNING
}

/** rankMemories' defaults when it is given no weights, half-life or lexical scale: MODEL_TUNING's */
export const DEFAULT_WEIGHTS: Readonly<RankWeights> = MODEL_TUNING.weights
export const DEFAULT_HALF_LIFE_DAYS = MODEL_TUNING.halfLifeDays
export const DEFAULT_LEXICAL_SCALE: LexicalScale = MODEL_TUNING.lexicalScale

const DAY_MS = 86_400_000

/** A candidate with its score and the parts of it (without its vector: results stay small). */
export interface Ranked extends Omit<VectorHit, 'embedding'> {
  /** the combined score, in [0, 1] */
  score: number
  /** each part of the score before weighting, each in [0, 1] */
  components: { vector: number; lexical: number; recency: number }
  /** 1 − distance: cosine similarity to the query */
  similarity: number
  /** the raw BM25 score over the candidate set */
  bm25: number
  /** the id of a later memory that updates this one, ranked right above it (supersede.ts) */
  supersededBy?: string
}

export interface RankOptions {
  /** ms since the epoch: the time recency is measured from */
  now: number
  /** default DEFAULT_WEIGHTS (MODEL_TUNING's); missing parts count 0 when some are given; made to sum to 1 */
  weights?: Partial<RankWeights>
  /** days for recency to halve (default DEFAULT_HALF_LIFE_DAYS) */
  halfLifeDays?: number
  /** how BM25 becomes L (default DEFAULT_LEXICAL_SCALE) */
  lexicalScale?: LexicalScale
  /** updated facts: applied when given and the candidates carry their vectors */
  supersede?: Readonly<SupersedeRule> | undefined
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

/**
 * Scores candidates (see the file's comment) and returns the best `k`, best first. With a
 * supersede rule, a superseded memory follows its successor even when its own score is higher.
 */
export function rankMemories(query: string, candidates: readonly VectorHit[], options: RankOptions): Ranked[] {
  const w = resolveWeights(options.weights)
  const halfLife = options.halfLifeDays ?? DEFAULT_HALF_LIFE_DAYS
  if (!(halfLife > 0)) throw new MiradorError('USAGE', `recall halfLifeDays must be > 0, not ${halfLife}`)
  const k = Math.max(0, Math.floor(options.k))
  if (candidates.length === 0 || k === 0) return []
  const byQuery = (options.lexicalScale ?? DEFAULT_LEXICAL_SCALE) === 'query'

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
  const scale = byQuery ? lex.ideal : best

  const scored = candidates.map((c, i) => {
    const vector = span > 1e-12 ? (sims[i]! - lo) / span : 1
    const lexical = best > 0 ? Math.min(1, lex.scores[i]! / scale) : 0
    const ageDays = Math.max(0, (options.now - c.meta.createdAt) / DAY_MS)
    const recency = Math.pow(0.5, ageDays / halfLife)
    const ranked: Ranked = {
      id: c.id,
      text: c.text,
      meta: c.meta,
      distance: c.distance,
      score: w.vector * vector + w.lexical * lexical + w.recency * recency,
      components: { vector, lexical, recency },
      similarity: sims[i]!,
      bm25: lex.scores[i]!,
    }
    return { ranked, embedding: c.embedding }
  })
  scored.sort(
    ({ ranked: a }, { ranked: b }) =>
      b.score - a.score ||
      b.similarity - a.similarity ||
      b.meta.createdAt - a.meta.createdAt ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )
  if (!options.supersede) return scored.slice(0, k).map((s) => s.ranked)
  const next = successors(
    scored.map((s) => ({ text: s.ranked.text, meta: s.ranked.meta, embedding: s.embedding })),
    options.supersede.similarity,
  )
  const moved = promote(
    scored.map((s) => s.ranked.score),
    next,
    options.supersede.margin,
  )
  for (const [i, j] of moved.supersededBy) scored[i]!.ranked.supersededBy = scored[j]!.ranked.id
  return moved.order.slice(0, k).map((i) => scored[i]!.ranked)
}

export interface RecallOptions {
  store: Pick<MemoryStore, 'query'>
  /** its `id` picks the default weights (tuningFor) */
  embedder: Pick<Embedder, 'embed'> & { readonly id?: string }
  query: string
  /** how many memories to return at most */
  k: number
  /** the store is asked for k × overfetch candidates (default tuningFor(embedder.id)) */
  overfetch?: number
  /** candidates by words over every memory (words.ts), added to the vector search's; none when absent */
  words?: WordSource
  /** how many the word source is asked for (default tuningFor(embedder.id)); 0: none */
  wordCandidates?: number
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
  /** default tuningFor(embedder.id) */
  lexicalScale?: LexicalScale
  /** default tuningFor(embedder.id); `false` turns the rule off */
  supersede?: Readonly<SupersedeRule> | false
  signal?: AbortSignal
}

/** Embeds the query, over-fetches from the store, ranks, applies the threshold; best first. */
export async function recall(options: RecallOptions): Promise<Ranked[]> {
  const { store, embedder, query, k } = options
  const preset = tuningFor(embedder.id)
  const overfetch = options.overfetch ?? preset.overfetch
  if (!(Number.isInteger(k) && k >= 1)) throw new MiradorError('USAGE', `recall k must be a whole number ≥ 1, not ${k}`)
  if (!(Number.isInteger(overfetch) && overfetch >= 1))
    throw new MiradorError('USAGE', `recall overfetch must be a whole number ≥ 1, not ${overfetch}`)
  const nWords = options.words ? (options.wordCandidates ?? preset.wordCandidates ?? 0) : 0
  if (!(Number.isInteger(nWords) && nWords >= 0))
    throw new MiradorError('USAGE', `recall wordCandidates must be a whole number ≥ 0, not ${nWords}`)
  const filter = options.session === undefined ? undefined : { session: options.session }
  // asked first: the word source's requests to the store go out while the query is embedded
  const byWords = nWords > 0 ? options.words!.search(query, nWords, filter) : Promise.resolve([])
  const byVector = embedder.embed([query], options.signal ? { signal: options.signal } : {}).then(async ([vector]) => {
    if (!vector) throw new MiradorError('INTERNAL', 'the embedder returned no vector for the query')
    return { vector, hits: await store.query(vector, k * overfetch, filter) }
  })
  const [{ vector, hits }, wordHits] = await Promise.all([byVector, byWords])
  const candidates = withWordHits(vector, hits, wordHits)
  const supersede = options.supersede ?? preset.supersede
  const ranked = rankMemories(query, candidates, {
    now: options.now ?? Date.now(),
    k: candidates.length,
    weights: options.weights ?? preset.weights,
    halfLifeDays: options.halfLifeDays ?? preset.halfLifeDays,
    lexicalScale: options.lexicalScale ?? preset.lexicalScale,
    ...(supersede ? { supersede } : {}),
  })
  const threshold = options.threshold
  return (threshold === undefined ? ranked : ranked.filter((r) => isRelevant(r, threshold, preset))).slice(0, k)
}

/** Whether a ranked memory counts as relevant: similar enough, or holding the question's rare words. */
export function isRelevant(
  r: Pick<Ranked, 'similarity' | 'components'>,
  threshold: number,
  tuning: Pick<RecallTuning, 'lexicalGate'>,
): boolean {
  return r.similarity >= threshold || (tuning.lexicalGate !== undefined && r.components.lexical >= tuning.lexicalGate)
}

/** The vector search's hits, then the word source's that are not among them, with their similarity to the query. */
export function withWordHits(
  vector: readonly number[],
  hits: VectorHit[],
  byWords: readonly StoredVector[],
): VectorHit[] {
  if (byWords.length === 0) return hits
  const seen = new Set(hits.map((h) => h.id))
  const out = [...hits]
  for (const w of byWords) {
    if (seen.has(w.id)) continue
    seen.add(w.id)
    out.push({ ...w, distance: 1 - cosine(vector, w.embedding) })
  }
  return out
}

/** What the `memory` event shows of a recalled memory: its id and scores, rounded, and what supersedes it. */
export function provenance(r: Ranked): {
  id: string
  score: number
  similarity: number
  vector: number
  lexical: number
  recency: number
  supersededBy?: string
} {
  const round = (x: number) => Math.round(x * 1e4) / 1e4
  return {
    id: r.id,
    score: round(r.score),
    similarity: round(r.similarity),
    vector: round(r.components.vector),
    lexical: round(r.components.lexical),
    recency: round(r.components.recency),
    ...(r.supersededBy !== undefined ? { supersededBy: r.supersededBy } : {}),
  }
}
