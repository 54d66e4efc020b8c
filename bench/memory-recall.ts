/**
 * Recall quality: recall@5 of vector-only search against hybrid recall (vector over-fetch, then
 * BM25 + recency re-ranking, src/plugins/memory/recall.ts), for each embedder available here, on
 * the labelled set bench/data/memory-recall.json (226 memories, 165 paraphrased queries).
 *
 * - Vector search is exact (brute-force cosine, bench/memory-inmemory.ts): quality does not depend
 *   on the store. Hybrid runs the real `recall()` (k 5, over-fetch 4 → 20 candidates).
 * - The set is split in two: odd-numbered queries tune (the weight grid search, `--tune`),
 *   even-numbered ones are held out. HASHING_TUNING was chosen on the tuning half with the hashing
 *   embedder (so were the lexical normalisation and the hashing features); MODEL_TUNING is a prior
 *   no one measured here. The held-out numbers are the honest ones. Both presets are reported for
 *   every embedder; recall() picks HASHING_TUNING for the hashing embedder, MODEL_TUNING otherwise.
 * - recall@5 = mean over queries of (relevant memories in the top 5) / (relevant memories).
 *   "ceiling" = recall@20 of the vector search: hybrid re-ranks those 20 and cannot do better.
 *   BM25 over all memories (no vectors) is shown as a reference.
 *
 * Embedders: the hashing embedder (lexical, built in); stories260K through llama.cpp
 * (MIRADOR_TEST_GGUF; a 260K-parameter story model, not a sentence-embedding model: expected
 * near chance); the Ollama test double's /api/embed (a bag-of-words hash, not a model: it shows
 * the Ollama path works end to end and says nothing about real embedding models).
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/memory-recall.ts [--tune]
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Runtime } from '../src/engine/runtime.js'
import { bm25, tokenize } from '../src/lib/bm25.js'
import { createEmbedder, createHashingEmbedder, type Embedder } from '../src/lib/embedder.js'
import { createUseEmbedder } from '../src/lib/use-embedder.js'
import {
  HASHING_TUNING,
  MODEL_TUNING,
  rankMemories,
  recall,
  type RankWeights,
  type RecallTuning,
} from '../src/plugins/memory/recall.js'
import type { MemoryRecord, VectorHit } from '../src/plugins/memory/types.js'
import { InMemoryStore } from './memory-inmemory.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
export const RECALL_SET_FILE = path.join(HERE, 'data', 'memory-recall.json')
const DAY_MS = 86_400_000
export const K = 5
export const OVERFETCH = 4

export interface SetMemory {
  id: string
  text: string
  daysAgo: number
}
export interface SetQuery {
  id: string
  text: string
  relevant: string[]
  hardNegatives?: string[]
}
export interface RecallSet {
  now: number
  memories: SetMemory[]
  queries: SetQuery[]
}

export function loadRecallSet(file = RECALL_SET_FILE): RecallSet {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { now: string; memories: SetMemory[]; queries: SetQuery[] }
  const ids = new Set(raw.memories.map((m) => m.id))
  for (const q of raw.queries)
    for (const r of [...q.relevant, ...(q.hardNegatives ?? [])])
      if (!ids.has(r)) throw new Error(`${q.id} names unknown memory ${r}`)
  return { now: Date.parse(raw.now), memories: raw.memories, queries: raw.queries }
}

/** Odd-numbered queries tune, even-numbered ones are held out. */
export function splitQueries(queries: SetQuery[]): { tune: SetQuery[]; heldOut: SetQuery[] } {
  const num = (q: SetQuery) => Number(q.id.replace(/\D/g, ''))
  return { tune: queries.filter((q) => num(q) % 2 === 1), heldOut: queries.filter((q) => num(q) % 2 === 0) }
}

export function records(set: RecallSet, vectors: number[][]): MemoryRecord[] {
  return set.memories.map((m, i) => ({
    id: m.id,
    text: m.text,
    embedding: vectors[i]!,
    meta: { chain: 'bench', runId: 'bench', createdAt: set.now - m.daysAgo * DAY_MS, kind: 'turn', recalls: 0 },
  }))
}

/** recall@k of one ranking: share of the relevant ids found in the first k */
export function recallAt(k: number, ranked: string[], relevant: string[]): number {
  const top = new Set(ranked.slice(0, k))
  return relevant.filter((r) => top.has(r)).length / relevant.length
}

/** 1 / rank of the first relevant id (0 if none) */
export function reciprocalRank(ranked: string[], relevant: string[]): number {
  const i = ranked.findIndex((id) => relevant.includes(id))
  return i < 0 ? 0 : 1 / (i + 1)
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0)

/** One embedder's index of the set: the store, and each query's vector and 20 nearest. */
export interface PreparedSet {
  set: RecallSet
  embedder: Embedder
  store: InMemoryStore
  candidates: Map<string, VectorHit[]>
}

export async function prepareSet(set: RecallSet, embedder: Embedder, depth = K * OVERFETCH): Promise<PreparedSet> {
  const store = new InMemoryStore()
  await store.add(records(set, await embedder.embed(set.memories.map((m) => m.text))))
  const qv = await embedder.embed(set.queries.map((q) => q.text))
  const candidates = new Map<string, VectorHit[]>()
  for (let i = 0; i < set.queries.length; i++) candidates.set(set.queries[i]!.id, await store.query(qv[i]!, depth))
  return { set, embedder, store, candidates }
}

export interface Scores {
  /** mean recall@5 */
  recall5: number
  /** mean reciprocal rank of the first relevant memory */
  mrr: number
  queries: number
}

function summarise(rankings: { ids: string[]; q: SetQuery }[]): Scores {
  return {
    recall5: mean(rankings.map(({ ids, q }) => recallAt(K, ids, q.relevant))),
    mrr: mean(rankings.map(({ ids, q }) => reciprocalRank(ids, q.relevant))),
    queries: rankings.length,
  }
}

/** vector-only: the nearest 5 */
export function scoreVectorOnly(p: PreparedSet, queries: SetQuery[]): Scores {
  return summarise(queries.map((q) => ({ q, ids: p.candidates.get(q.id)!.map((h) => h.id) })))
}

/** ceiling of hybrid: recall of the 20 candidates it re-ranks */
export function scoreCeiling(p: PreparedSet, queries: SetQuery[]): number {
  return mean(
    queries.map((q) =>
      recallAt(
        K * OVERFETCH,
        p.candidates.get(q.id)!.map((h) => h.id),
        q.relevant,
      ),
    ),
  )
}

/** hybrid re-ranking of the prepared candidates with given weights (fast: for the grid search) */
export function scoreReranked(
  p: PreparedSet,
  queries: SetQuery[],
  weights: Partial<RankWeights>,
  halfLifeDays: number,
): Scores {
  return summarise(
    queries.map((q) => ({
      q,
      ids: rankMemories(q.text, p.candidates.get(q.id)!, {
        now: p.set.now,
        k: K * OVERFETCH,
        weights,
        halfLifeDays,
      }).map((r) => r.id),
    })),
  )
}

/** hybrid through the real recall() (embeds the query, asks the store, ranks): the headline */
export async function scoreHybrid(p: PreparedSet, queries: SetQuery[], tuning: RecallTuning): Promise<Scores> {
  const rankings: { ids: string[]; q: SetQuery }[] = []
  for (const q of queries) {
    const got = await recall({
      store: p.store,
      embedder: p.embedder,
      query: q.text,
      k: K * OVERFETCH,
      overfetch: 1,
      now: p.set.now,
      weights: tuning.weights,
      halfLifeDays: tuning.halfLifeDays,
    })
    rankings.push({ q, ids: got.map((r) => r.id) })
  }
  return summarise(rankings)
}

/** reference: BM25 over every memory, no vectors */
export function scoreBm25All(set: RecallSet, queries: SetQuery[]): Scores {
  const docs = set.memories.map((m) => tokenize(m.text))
  return summarise(
    queries.map((q) => {
      const { scores } = bm25(tokenize(q.text), docs)
      const ids = set.memories
        .map((m, i) => ({ id: m.id, s: scores[i]! }))
        .sort((a, b) => b.s - a.s)
        .map((x) => x.id)
      return { q, ids }
    }),
  )
}

/** How lexical the paraphrases are: terms shared by each query and its relevant memories. */
export function overlapStats(set: RecallSet): { meanShared: number; noneShared: number; queries: number } {
  const byId = new Map(set.memories.map((m) => [m.id, new Set(tokenize(m.text))]))
  const shared = set.queries.map((q) => {
    const qt = new Set(tokenize(q.text))
    const rel = new Set<string>()
    for (const r of q.relevant) for (const t of byId.get(r)!) rel.add(t)
    return [...qt].filter((t) => rel.has(t)).length
  })
  return { meanShared: mean(shared), noneShared: shared.filter((n) => n === 0).length, queries: shared.length }
}

export interface TuneResult {
  weights: RankWeights
  halfLifeDays: number
  scores: Scores
  /** mean recall@5 of this point and its grid neighbours (one 0.1 step moved, same half-life) */
  smoothed: number
}

/**
 * Grid search on `queries`: weights on a 0.1 simplex grid × half-lives. Best first by `smoothed`
 * recall@5 (a point in a flat region beats a one-query spike), then recall@5, then MRR.
 */
export function tuneWeights(p: PreparedSet, queries: SetQuery[], halfLives = [30, 90, 180, 365]): TuneResult[] {
  const grid = new Map<string, TuneResult>()
  const key = (v: number, l: number, hl: number) => `${v},${l},${hl}`
  for (const halfLifeDays of halfLives)
    for (let v = 0; v <= 10; v++)
      for (let l = 0; l <= 10 - v; l++) {
        if (v === 0 && l === 0) continue // recency alone ignores the query
        const weights = { vector: v / 10, lexical: l / 10, recency: (10 - v - l) / 10 }
        grid.set(key(v, l, halfLifeDays), {
          weights,
          halfLifeDays,
          scores: scoreReranked(p, queries, weights, halfLifeDays),
          smoothed: 0,
        })
      }
  for (const [k, r] of grid) {
    const [v, l, hl] = k.split(',').map(Number) as [number, number, number]
    const moves = [
      [0, 0],
      [1, -1],
      [-1, 1],
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
    ] // shifting 0.1 between two of the three weights
    const near = moves
      .map(([dv, dl]) => grid.get(key(v + dv!, l + dl!, hl)))
      .filter((x): x is TuneResult => x !== undefined)
    r.smoothed = mean(near.map((x) => x.scores.recall5))
  }
  return [...grid.values()].sort(
    (a, b) => b.smoothed - a.smoothed || b.scores.recall5 - a.scores.recall5 || b.scores.mrr - a.scores.mrr,
  )
}

export interface RecallRow {
  embedder: string
  split: 'held-out' | 'tuning' | 'all'
  queries: number
  vectorOnly: Scores
  /** hybrid with HASHING_TUNING (measured) */
  hybridHashing: Scores
  /** hybrid with MODEL_TUNING (a prior) */
  hybridModel: Scores
  ceiling: number
}

export interface EmbedderChoice {
  label: string
  embedder: Embedder
}

/** The embedders this machine offers: hashing always; llama.cpp if the GGUF exists; the Ollama double. */
export async function availableEmbedders(
  options: { gguf?: string | undefined; ollama?: boolean } = {},
): Promise<{ list: EmbedderChoice[]; dispose: () => Promise<void> }> {
  const list: EmbedderChoice[] = [
    { label: 'hashing (built in, lexical, 384-d)', embedder: createHashingEmbedder() },
    { label: 'USE Lite (bundled sentence encoder, 512-d)', embedder: createUseEmbedder() },
  ]
  const cleanups: (() => Promise<void>)[] = []
  if (options.gguf && existsSync(options.gguf)) {
    const { createLlamaCpp } = await import('../src/runtimes/llamacpp/index.js')
    const runtime: Runtime = createLlamaCpp({ threads: 1 })
    list.push({
      label: 'llama.cpp stories260K (64-d, not an embedding model)',
      embedder: createEmbedder({ runtime, model: options.gguf }),
    })
    cleanups.push(async () => runtime.dispose?.())
  }
  if (options.ollama !== false) {
    const { startOllamaTestServer } = await import('../test/support/ollama-server.js')
    const { createOllama } = await import('../src/runtimes/ollama/index.js')
    const server = await startOllamaTestServer({ models: [{ name: 'bow-embed', embeddingLength: 384 }] })
    const runtime = createOllama({ host: server.url })
    list.push({
      label: 'Ollama test double /api/embed (bag of words, 384-d)',
      embedder: createEmbedder({ runtime, model: 'bow-embed' }),
    })
    cleanups.push(async () => {
      await runtime.dispose?.()
      await server.close()
    })
  }
  return {
    list,
    dispose: async () => {
      for (const c of cleanups) await c()
    },
  }
}

/** recall@5 per embedder, vector-only against hybrid (both presets), held-out half, tuning half, whole set. */
export async function runRecallBenchmark(
  options: { gguf?: string | undefined; ollama?: boolean; set?: RecallSet } = {},
): Promise<RecallRow[]> {
  const set = options.set ?? loadRecallSet()
  const { tune, heldOut } = splitQueries(set.queries)
  const { list, dispose } = await availableEmbedders(options)
  const rows: RecallRow[] = []
  try {
    for (const { label, embedder } of list) {
      const p = await prepareSet(set, embedder)
      for (const [split, qs] of [
        ['held-out', heldOut],
        ['tuning', tune],
        ['all', set.queries],
      ] as const)
        rows.push({
          embedder: label,
          split,
          queries: qs.length,
          vectorOnly: scoreVectorOnly(p, qs),
          hybridHashing: await scoreHybrid(p, qs, HASHING_TUNING),
          hybridModel: await scoreHybrid(p, qs, MODEL_TUNING),
          ceiling: scoreCeiling(p, qs),
        })
    }
  } finally {
    await dispose()
  }
  return rows
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`

export function printRecallRows(rows: RecallRow[], set: RecallSet = loadRecallSet()): void {
  const o = overlapStats(set)
  const { tune, heldOut } = splitQueries(set.queries)
  console.log(
    `Recall set: ${set.memories.length} memories, ${set.queries.length} queries ` +
      `(${tune.length} tuning, ${heldOut.length} held out); ` +
      `a query shares on average ${o.meanShared.toFixed(2)} stemmed terms with its relevant memories, ` +
      `none at all in ${o.noneShared} of ${o.queries}.`,
  )
  const t = (x: RecallTuning) =>
    `${x.weights.vector}/${x.weights.lexical}/${x.weights.recency}, half-life ${x.halfLifeDays} d`
  console.log(
    `Hybrid: k ${K}, over-fetch ${OVERFETCH}; weights vector/lexical/recency: ` +
      `"hashing" = HASHING_TUNING (${t(HASHING_TUNING)}, measured on the tuning half), ` +
      `"model" = MODEL_TUNING (${t(MODEL_TUNING)}, a prior, not measured). ` +
      'recall() uses "hashing" for the hashing embedder, "model" for the others.',
  )
  const head = [
    'embedder',
    'queries',
    'vector-only R@5',
    'hybrid "hashing" R@5',
    'hybrid "model" R@5',
    'ceiling (R@20)',
    'MRR vector / hashing / model',
  ]
  const lines = rows.map((r) => [
    r.embedder,
    `${r.split} (${r.queries})`,
    pct(r.vectorOnly.recall5),
    pct(r.hybridHashing.recall5),
    pct(r.hybridModel.recall5),
    pct(r.ceiling),
    [r.vectorOnly.mrr, r.hybridHashing.mrr, r.hybridModel.mrr].map((x) => x.toFixed(3)).join(' / '),
  ])
  for (const split of ['held-out', 'tuning', 'all'] as const) {
    const b = scoreBm25All(set, split === 'all' ? set.queries : split === 'tuning' ? tune : heldOut)
    lines.push([
      `reference: BM25 over all memories, no vectors`,
      `${split} (${b.queries})`,
      pct(b.recall5),
      '',
      '',
      '',
      b.mrr.toFixed(3),
    ])
  }
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`
  console.log(line(head))
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const l of lines) console.log(line(l))
}

async function main(): Promise<void> {
  const gguf = process.env.MIRADOR_TEST_GGUF ?? path.resolve(HERE, '../../shared/models/stories260K.gguf')
  const set = loadRecallSet()
  if (process.argv.includes('--tune')) {
    const { tune, heldOut } = splitQueries(set.queries)
    const p = await prepareSet(set, createHashingEmbedder())
    const results = tuneWeights(p, tune)
    console.log(
      `Grid search on the tuning half (${tune.length} queries), hashing embedder; ` +
        `vector-only there: ${pct(scoreVectorOnly(p, tune).recall5)}`,
    )
    console.log(
      'best 25 by neighbourhood-smoothed tuning recall@5 ' +
        '(smoothed, recall@5, MRR on the tuning half; held-out recall@5 only for information, not used):',
    )
    for (const r of results.slice(0, 25)) {
      const heldOutRecall = pct(scoreReranked(p, heldOut, r.weights, r.halfLifeDays).recall5)
      console.log(
        `  ${JSON.stringify(r.weights)} half-life ${r.halfLifeDays}: ` +
          `${pct(r.smoothed)} ${pct(r.scores.recall5)} ${r.scores.mrr.toFixed(3)}  (held out ${heldOutRecall})`,
      )
    }
    const byRaw = [...results].sort((a, b) => b.scores.recall5 - a.scores.recall5 || b.scores.mrr - a.scores.mrr)[0]!
    console.log(
      `best single point by tuning recall@5: ${JSON.stringify(byRaw.weights)} ` +
        `half-life ${byRaw.halfLifeDays}: ${pct(byRaw.scores.recall5)}`,
    )
    return
  }
  printRecallRows(await runRecallBenchmark({ gguf, set }), set)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
