/**
 * Recall quality: recall@5 and MRR of each way of ranking memories, per kind of question, on two
 * labelled sets of different genres (src/plugins/memory/recall.ts explains the ranking):
 *
 * - "personal facts", bench/data/memory-recall.json: 226 short facts one person told the assistant,
 *   165 questions paraphrased to share few words with them (kinds: paraphrase, update, multi-session).
 * - "dialogue", bench/data/memory-recall-dialogue.json: 169 turns ("Q: … A: …") of multi-session
 *   conversations over a year, full of names, dates and places, with updated facts (a trip moved, a
 *   new phone number) and hard negatives (the same person's other facts, the same topic on another
 *   date); 115 questions (kinds: paraphrase, entity, update, multi-session).
 * - "dialogue + 2,000 distractors": the same with 2,000 memories of another person's life added
 *   (`withDistractors`), as a larger store is: where the word source's candidates matter.
 *
 * Each set is split in two: odd-numbered questions tune (`--tune`), even-numbered ones are held
 * out; the held-out numbers are the honest ones. Rankings:
 *
 * - BM25 alone: BM25 over every memory (lib/bm25.ts), no vectors.
 * - vectors: the embedder's nearest memories (exact cosine, bench/memory-inmemory.ts: quality does
 *   not depend on the store).
 * - recall(): the real recall with the embedder's preset (tuningFor) and the word source the memory
 *   service gives it (words.ts, over the bench's in-memory store): for the hashing embedder its
 *   hybrid (HASHING_TUNING); for USE the fused ranking (MODEL_TUNING), also shown without its
 *   supersede rule, without a word source (the vectors' candidates alone, as a run recalling by
 *   itself has), and with the prior MODEL_TUNING had before it was measured (0.6/0.3/0.1, half-life
 *   180 d, over-fetch 4, BM25 scaled by the best candidate, no supersede rule, no words).
 * - ceiling: the share of relevant memories among the candidates: what re-ranking them can reach.
 *
 * recall@5 = mean over questions of (relevant memories in the top 5) / (relevant memories); MRR =
 * mean of 1 / rank of the first relevant memory (0 when none is ranked).
 *
 * Embedders: the hashing embedder (lexical, built in) and the bundled Universal Sentence Encoder Lite;
 * with `--all`, also stories260K through llama.cpp (MIRADOR_TEST_GGUF; a story model, not an
 * embedding model: near chance) and the Ollama test double's /api/embed (a bag-of-words hash: it
 * shows the Ollama path works end to end, nothing about real embedding models).
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/memory-recall.ts [--tune] [--all]
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
  withWordHits,
  type RecallTuning,
} from '../src/plugins/memory/recall.js'
import { promote, successors, type SupersedeRule } from '../src/plugins/memory/supersede.js'
import type { MemoryRecord, StoredVector, VectorHit } from '../src/plugins/memory/types.js'
import { StoreWords } from '../src/plugins/memory/words.js'
import { InMemoryStore } from './memory-inmemory.js'
import { syntheticMemories } from './memory-latency.js'

const HERE = path.dirname(fileURLToPath(import.meta.url))
export const RECALL_SET_FILE = path.join(HERE, 'data', 'memory-recall.json')
export const DIALOGUE_SET_FILE = path.join(HERE, 'data', 'memory-recall-dialogue.json')
const DAY_MS = 86_400_000
export const K = 5

/** The prior MODEL_TUNING was before it was measured: shown beside the fused ranking. */
export const PRIOR_MODEL_TUNING: Readonly<RecallTuning> = Object.freeze({
  weights: Object.freeze({ vector: 0.6, lexical: 0.3, recency: 0.1 }),
  halfLifeDays: 180,
  overfetch: 4,
  lexicalScale: 'best',
  threshold: 0.1,
})

export interface SetMemory {
  id: string
  text: string
  daysAgo: number
  session?: string
  /** the earlier memories this one updates (labels for the supersede rule's report) */
  supersedes?: string[]
}
export interface SetQuery {
  id: string
  text: string
  relevant: string[]
  hardNegatives?: string[]
  /** paraphrase, entity, update, multi-session */
  kind?: string
}
export interface RecallSet {
  name: string
  file: string
  now: number
  memories: SetMemory[]
  queries: SetQuery[]
}

export function loadRecallSet(file = RECALL_SET_FILE, name = path.basename(file, '.json')): RecallSet {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as { now: string; memories: SetMemory[]; queries: SetQuery[] }
  const ids = new Set(raw.memories.map((m) => m.id))
  for (const m of raw.memories)
    for (const r of m.supersedes ?? []) if (!ids.has(r)) throw new Error(`${m.id} supersedes unknown memory ${r}`)
  for (const q of raw.queries)
    for (const r of [...q.relevant, ...(q.hardNegatives ?? [])])
      if (!ids.has(r)) throw new Error(`${q.id} names unknown memory ${r}`)
  return { name, file, now: Date.parse(raw.now), memories: raw.memories, queries: raw.queries }
}

/** Both labelled sets, then the second with DISTRACTORS more memories (withDistractors). */
export function loadRecallSets(): RecallSet[] {
  const personal = loadRecallSet(RECALL_SET_FILE, 'personal facts')
  const dialogue = loadRecallSet(DIALOGUE_SET_FILE, 'dialogue')
  return [personal, dialogue, withDistractors(dialogue, personal)]
}

/** How many memories of another life `withDistractors` adds. */
export const DISTRACTORS = 2000

/**
 * A set at a larger store's scale: its memories and questions, plus `n` memories of another person's
 * life (`from`'s sentences, recombined as memory-latency.ts's synthetic memories are, seeded), none
 * of them relevant to a question. The labelled sets hold 169 and 226 memories, where the vectors'
 * k × over-fetch candidates already hold the right memory for 97 % of the questions; a store of a
 * few thousand is where a memory tied to the question by a name alone falls outside them.
 */
export function withDistractors(set: RecallSet, from: RecallSet, n = DISTRACTORS): RecallSet {
  const extra = syntheticMemories(from, n, 11).map((m, i) => ({
    id: `distractor-${i}`,
    text: m.text,
    daysAgo: (from.now - m.createdAt) / DAY_MS,
  }))
  return { ...set, name: `${set.name} + ${n.toLocaleString('en')} distractors`, memories: [...set.memories, ...extra] }
}

/** Odd-numbered queries tune, even-numbered ones are held out. */
export function splitQueries(queries: SetQuery[]): { tune: SetQuery[]; heldOut: SetQuery[] } {
  const num = (q: SetQuery) => Number(q.id.replace(/\D/g, ''))
  return { tune: queries.filter((q) => num(q) % 2 === 1), heldOut: queries.filter((q) => num(q) % 2 === 0) }
}

const kindOf = (q: SetQuery) => q.kind ?? 'paraphrase'

/** The kinds of question in a set, most frequent first. */
export function kindsOf(queries: SetQuery[]): string[] {
  const n = new Map<string, number>()
  for (const q of queries) n.set(kindOf(q), (n.get(kindOf(q)) ?? 0) + 1)
  return [...n.keys()].sort((a, b) => n.get(b)! - n.get(a)! || a.localeCompare(b))
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

export interface Scores {
  /** mean recall@5 */
  recall5: number
  /** mean reciprocal rank of the first relevant memory */
  mrr: number
  queries: number
}

/** A ranking of each question's memories, best first, by question id. */
export type Rankings = Map<string, string[]>

/** Scores over `queries`: all of them (key `all`) and each kind. */
export function score(rankings: Rankings, queries: SetQuery[]): Record<string, Scores> {
  const groups = new Map<string, SetQuery[]>([['all', queries]])
  for (const q of queries) groups.set(kindOf(q), [...(groups.get(kindOf(q)) ?? []), q])
  const out: Record<string, Scores> = {}
  for (const [g, qs] of groups) {
    const ids = qs.map((q) => rankings.get(q.id)!)
    out[g] = {
      recall5: mean(qs.map((q, i) => recallAt(K, ids[i]!, q.relevant))),
      mrr: mean(qs.map((q, i) => reciprocalRank(ids[i]!, q.relevant))),
      queries: qs.length,
    }
  }
  return out
}

/** How many word candidates the tuning tries at most (each question's are found once, this deep). */
export const WORD_DEPTH = 20

/**
 * One embedder's index of the set: the store, its word source (the memory service's StoreWords over
 * it), and each query's vector, nearest memories and best memories by words.
 */
export interface PreparedSet {
  set: RecallSet
  embedder: Embedder
  store: InMemoryStore
  words: StoreWords
  vectors: Map<string, number[]>
  /** each query's nearest `depth` memories, with their vectors */
  candidates: Map<string, VectorHit[]>
  /** each query's best WORD_DEPTH memories by BM25 over every memory (the word source's), with their vectors */
  wordHits: Map<string, StoredVector[]>
}

/** The sentence encoder's WebAssembly fails on thousands of texts at once (the distractor set): 256 at a time. */
async function embedInBatches(embedder: Embedder, texts: string[], size = 256): Promise<number[][]> {
  const out: number[][] = []
  for (let i = 0; i < texts.length; i += size) out.push(...(await embedder.embed(texts.slice(i, i + size))))
  return out
}

export async function prepareSet(set: RecallSet, embedder: Embedder, depth = K * 8): Promise<PreparedSet> {
  const store = new InMemoryStore()
  await store.add(
    records(
      set,
      await embedInBatches(
        embedder,
        set.memories.map((m) => m.text),
      ),
    ),
  )
  const words = new StoreWords(store)
  const qv = await embedder.embed(set.queries.map((q) => q.text))
  const vectors = new Map<string, number[]>()
  const candidates = new Map<string, VectorHit[]>()
  const wordHits = new Map<string, StoredVector[]>()
  for (let i = 0; i < set.queries.length; i++) {
    const q = set.queries[i]!
    vectors.set(q.id, qv[i]!)
    candidates.set(q.id, await store.query(qv[i]!, depth))
    wordHits.set(q.id, await words.search(q.text, WORD_DEPTH))
  }
  return { set, embedder, store, words, vectors, candidates, wordHits }
}

/** vector-only: every memory by similarity */
export async function rankByVectors(p: PreparedSet): Promise<Rankings> {
  const all = await p.embedder.embed(p.set.queries.map((q) => q.text))
  const out: Rankings = new Map()
  for (let i = 0; i < all.length; i++)
    out.set(
      p.set.queries[i]!.id,
      (await p.store.query(all[i]!, p.set.memories.length)).map((h) => h.id),
    )
  return out
}

/** BM25 over every memory, no vectors (ties: the set's order) */
export function rankByBm25(set: RecallSet): Rankings {
  const docs = set.memories.map((m) => tokenize(m.text))
  const out: Rankings = new Map()
  for (const q of set.queries) {
    const { scores } = bm25(tokenize(q.text), docs)
    const order = set.memories.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b)
    out.set(
      q.id,
      order.map((i) => set.memories[i]!.id),
    )
  }
  return out
}

/** the real recall(): asks the store for k × overfetch and the word source for its part, returns them all ranked */
export async function rankByRecall(p: PreparedSet, tuning: RecallTuning): Promise<Rankings> {
  const out: Rankings = new Map()
  for (const q of p.set.queries) {
    const got = await recall({
      store: p.store,
      embedder: p.embedder,
      words: p.words,
      wordCandidates: tuning.wordCandidates ?? 0,
      query: q.text,
      // every candidate the store gives, ranked (with word candidates, the best k × overfetch of them)
      k: K * tuning.overfetch,
      overfetch: 1,
      now: p.set.now,
      weights: tuning.weights,
      halfLifeDays: tuning.halfLifeDays,
      lexicalScale: tuning.lexicalScale,
      supersede: tuning.supersede ?? false,
    })
    out.set(
      q.id,
      got.map((r) => r.id),
    )
  }
  return out
}

/**
 * The share of relevant memories among the candidates (the vectors' first k × overfetch, and the
 * word source's first `words`), per question: the ceiling of re-ranking
 */
export function ceiling(p: PreparedSet, overfetch: number, queries: SetQuery[], words = 0): number {
  return mean(
    queries.map((q) => {
      const ids = p.candidates
        .get(q.id)!
        .slice(0, K * overfetch)
        .map((h) => h.id)
      for (const w of p.wordHits.get(q.id)!.slice(0, words)) if (!ids.includes(w.id)) ids.push(w.id)
      return recallAt(ids.length, ids, q.relevant)
    }),
  )
}

/** How lexical the questions are: terms shared by each question and its relevant memories. */
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

export interface RecallRow {
  ranking: string
  /** held-out half, all and per kind */
  heldOut: Record<string, Scores>
  /** recall@5 on the tuning half and on the whole set */
  tuning: number
  all: number
}

export interface SetReport {
  set: RecallSet
  rows: RecallRow[]
  /** USE's ceiling at MODEL_TUNING's candidates, held-out half: the vectors', and with the word source's */
  ceiling?: { vectors: number; withWords: number }
  supersede?: SupersedeStats
}

/** What the supersede rule links among each question's candidates, against the set's labels. */
export interface SupersedeStats {
  /** pairs (earlier, later) the rule links in some question's candidates */
  linked: number
  /** of those, pairs the set labels as updates */
  labelledLinked: number
  /** labelled pairs whose two memories are candidates of one question together */
  labelledTogether: number
  labelled: number
}

export function supersedeStats(p: PreparedSet, overfetch: number, rule: SupersedeRule): SupersedeStats {
  const labels = new Set(p.set.memories.flatMap((m) => (m.supersedes ?? []).map((old) => `${old}>${m.id}`)))
  const linked = new Set<string>()
  const together = new Set<string>()
  for (const all of p.candidates.values()) {
    const hits = all.slice(0, K * overfetch)
    successors(hits, rule.similarity).forEach((js, i) => js.forEach((j) => linked.add(`${hits[i]!.id}>${hits[j]!.id}`)))
    const ids = new Set(hits.map((h) => h.id))
    for (const l of labels) if (l.split('>').every((id) => ids.has(id))) together.add(l)
  }
  return {
    linked: linked.size,
    labelledLinked: [...linked].filter((l) => labels.has(l)).length,
    labelledTogether: together.size,
    labelled: labels.size,
  }
}

export interface EmbedderChoice {
  label: string
  embedder: Embedder
}

/** The embedders: hashing and USE; with `all`, llama.cpp (if the GGUF exists) and the Ollama double. */
export async function availableEmbedders(
  options: { gguf?: string | undefined; all?: boolean } = {},
): Promise<{ list: EmbedderChoice[]; dispose: () => Promise<void> }> {
  const list: EmbedderChoice[] = [
    { label: 'hashing', embedder: createHashingEmbedder() },
    { label: 'USE', embedder: createUseEmbedder() },
  ]
  const cleanups: (() => Promise<void>)[] = []
  if (options.all && options.gguf && existsSync(options.gguf)) {
    const { createLlamaCpp } = await import('../src/runtimes/llamacpp/index.js')
    const runtime: Runtime = createLlamaCpp({ threads: 1 })
    list.push({ label: 'llama.cpp stories260K', embedder: createEmbedder({ runtime, model: options.gguf }) })
    cleanups.push(async () => runtime.dispose?.())
  }
  if (options.all) {
    const { startOllamaTestServer } = await import('../test/support/ollama-server.js')
    const { createOllama } = await import('../src/runtimes/ollama/index.js')
    const server = await startOllamaTestServer({ models: [{ name: 'bow-embed', embeddingLength: 384 }] })
    const runtime = createOllama({ host: server.url })
    list.push({ label: 'Ollama double (bag of words)', embedder: createEmbedder({ runtime, model: 'bow-embed' }) })
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

function row(ranking: string, r: Rankings, set: RecallSet): RecallRow {
  const { tune, heldOut } = splitQueries(set.queries)
  return {
    ranking,
    heldOut: score(r, heldOut),
    tuning: score(r, tune).all!.recall5,
    all: score(r, set.queries).all!.recall5,
  }
}

/** Every ranking on both sets. */
export async function runRecallBenchmark(
  options: { gguf?: string | undefined; all?: boolean; sets?: RecallSet[] } = {},
): Promise<SetReport[]> {
  const sets = options.sets ?? loadRecallSets()
  const { list, dispose } = await availableEmbedders(options)
  const reports: SetReport[] = []
  try {
    for (const set of sets) {
      const report: SetReport = { set, rows: [row('BM25 alone (every memory)', rankByBm25(set), set)] }
      for (const { label, embedder } of list) {
        const p = await prepareSet(set, embedder)
        report.rows.push(row(`${label}: vectors`, await rankByVectors(p), set))
        if (embedder.id.startsWith('hashing-')) {
          report.rows.push(row(`${label}: recall() (its hybrid)`, await rankByRecall(p, HASHING_TUNING), set))
          continue
        }
        if (label === 'USE') {
          report.rows.push(row(`${label}: hybrid, old prior`, await rankByRecall(p, PRIOR_MODEL_TUNING), set))
          const noWords = { ...MODEL_TUNING, wordCandidates: 0 }
          report.rows.push(row(`${label}: fused, no word source`, await rankByRecall(p, noWords), set))
          const { supersede: _rule, ...noRule } = MODEL_TUNING
          report.rows.push(row(`${label}: fused, no supersede`, await rankByRecall(p, noRule), set))
          const { heldOut } = splitQueries(set.queries)
          report.ceiling = {
            vectors: ceiling(p, MODEL_TUNING.overfetch, heldOut),
            withWords: ceiling(p, MODEL_TUNING.overfetch, heldOut, MODEL_TUNING.wordCandidates),
          }
          report.supersede = supersedeStats(p, MODEL_TUNING.overfetch, MODEL_TUNING.supersede!)
        }
        report.rows.push(row(`${label}: recall() (fused)`, await rankByRecall(p, MODEL_TUNING), set))
      }
      reports.push(report)
    }
  } finally {
    await dispose()
  }
  return reports
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`

function printTable(head: string[], lines: string[][]): void {
  const width = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(width[i]!)).join(' | ')} |`
  console.log(line(head))
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const l of lines) console.log(line(l))
}

const describe = (x: RecallTuning) =>
  `${x.weights.vector}/${x.weights.lexical}/${x.weights.recency}, half-life ${x.halfLifeDays} d, ` +
  `over-fetch ${x.overfetch}, ${x.wordCandidates ?? 0} by words, ` +
  `BM25 ÷ ${x.lexicalScale === 'query' ? 'query ideal' : 'best'}` +
  (x.supersede ? `, supersede ≥ ${x.supersede.similarity} within ${x.supersede.margin}` : '')

export function printRecallRows(reports: SetReport[]): void {
  console.log(
    `k ${K}. Weights vector/lexical/recency: hashing ${describe(HASHING_TUNING)}; ` +
      `USE fused ${describe(MODEL_TUNING)}; old prior ${describe(PRIOR_MODEL_TUNING)}.`,
  )
  for (const report of reports) {
    const { set, rows, ceiling: top } = report
    const o = overlapStats(set)
    const { tune, heldOut } = splitQueries(set.queries)
    console.log(
      `\n"${set.name}" (${path.relative(process.cwd(), set.file)}): ${set.memories.length} memories, ` +
        `${set.queries.length} questions (${tune.length} tuning, ${heldOut.length} held out); a question shares ` +
        `${o.meanShared.toFixed(2)} stemmed terms with its memories on average, none in ${o.noneShared}.` +
        (top === undefined
          ? ''
          : ` USE candidates hold (held out) ${pct(top.vectors)} of the relevant memories by vector ` +
            `(${K * MODEL_TUNING.overfetch}), ${pct(top.withWords)} with ` +
            `${MODEL_TUNING.wordCandidates ?? 0} by words.`),
    )
    const kinds = kindsOf(heldOut)
    const head = [
      'ranking',
      `held out: all (${heldOut.length})`,
      ...kinds.map((k) => `${k} (${heldOut.filter((q) => kindOf(q) === k).length})`),
      'R@5 tuning / all',
    ]
    const lines = rows.map((r) => [
      r.ranking,
      ...['all', ...kinds].map((k) => `${pct(r.heldOut[k]!.recall5)} / ${r.heldOut[k]!.mrr.toFixed(2)}`),
      `${pct(r.tuning)} / ${pct(r.all)}`,
    ])
    console.log('recall@5 / MRR')
    printTable(head, lines)
    const st = report.supersede
    if (st && st.labelled > 0)
      console.log(
        `Supersede rule with USE, among each question's ${K * MODEL_TUNING.overfetch} vector candidates: links ` +
          `${st.linked} pairs, ${st.labelledLinked} of them among the set's ${st.labelled} labelled updates ` +
          `(${st.labelledTogether} of which are ever candidates together).`,
      )
  }
}

// --- tuning (on the tuning halves only) -------------------------------------------------------

interface Candidates {
  q: SetQuery
  vector: number[]
  hits: VectorHit[]
  words: StoredVector[]
  /** successors (supersede.ts) of the candidates by similarity threshold, over-fetch and words, computed once */
  next: Map<string, number[][]>
}

function candidatesOf(p: PreparedSet, queries: SetQuery[]): Candidates[] {
  return queries.map((q) => ({
    q,
    vector: p.vectors.get(q.id)!,
    hits: p.candidates.get(q.id)!,
    words: p.wordHits.get(q.id)!,
    next: new Map(),
  }))
}

/**
 * A ranking of one question's candidates as recall() makes them (its first k × over-fetch by vector
 * and its first `wordCandidates` by words) by rankMemories, then the supersede rule.
 */
function rerank(c: Candidates, now: number, tuning: RecallTuning): string[] {
  const hits = withWordHits(
    c.vector,
    c.hits.slice(0, K * tuning.overfetch),
    c.words.slice(0, tuning.wordCandidates ?? 0),
  )
  const ranked = rankMemories(c.q.text, hits, { now, k: hits.length, ...tuning, supersede: undefined })
  if (!tuning.supersede) return ranked.map((r) => r.id)
  const rule: SupersedeRule = tuning.supersede
  const key = `${rule.similarity}/${tuning.overfetch}/${tuning.wordCandidates ?? 0}`
  if (!c.next.has(key)) c.next.set(key, successors(hits, rule.similarity))
  const at = new Map(hits.map((h, i) => [h.id, i]))
  const pos = new Map(ranked.map((r, i) => [r.id, i]))
  const next = ranked.map((r) => c.next.get(key)![at.get(r.id)!]!.map((j) => pos.get(hits[j]!.id)!))
  const { order } = promote(
    ranked.map((r) => r.score),
    next,
    rule.margin,
  )
  return order.map((i) => ranked[i]!.id)
}

function tuneScore(data: { set: RecallSet; cands: Candidates[] }[], tuning: RecallTuning): number[] {
  return data.map(({ set, cands }) => mean(cands.map((c) => recallAt(K, rerank(c, set.now, tuning), c.q.relevant))))
}

/** Reciprocal-rank fusion of vectors and BM25 over the candidates, as rerank's (for comparison only). */
function rrf(c: Candidates, overfetch: number, words: number, k0: number): string[] {
  const hits = withWordHits(c.vector, c.hits.slice(0, K * overfetch), c.words.slice(0, words))
  const sims = hits.map((h) => 1 - h.distance)
  const vecRank = hits.map((_, i) => i).sort((a, b) => sims[b]! - sims[a]!)
  const { scores } = bm25(
    tokenize(c.q.text),
    hits.map((h) => tokenize(h.text)),
  )
  const lexRank = hits.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!)
  const fused = hits.map(() => 0)
  vecRank.forEach((i, r) => (fused[i]! += 1 / (k0 + r + 1)))
  lexRank.forEach((i, r) => {
    if (scores[i]! > 0) fused[i]! += 1 / (k0 + r + 1)
  })
  return hits
    .map((h, i) => ({ id: h.id, s: fused[i]! }))
    .sort((a, b) => b.s - a.s)
    .map((x) => x.id)
}

interface GridPoint {
  tuning: RecallTuning
  /** recall@5 per set */
  per: number[]
  /** mean over the point and its grid neighbours (one 0.1 step of weight moved) of mean(per) */
  smoothed: number
}

/**
 * Weights on a 0.1 simplex grid for each of `bases` (the other parts of a tuning), scored by
 * `scoreOf`, best first by the neighbourhood-smoothed mean (a point in a flat region beats a
 * one-query spike: the surface is flat to within a question or two), then the plain mean.
 */
function weightGrid(bases: RecallTuning[], scoreOf: (t: RecallTuning) => number[]): GridPoint[] {
  const grid = new Map<string, GridPoint>()
  const key = (b: number, v: number, l: number) => `${b},${v},${l}`
  bases.forEach((base, b) => {
    for (let v = 0; v <= 10; v++)
      for (let l = 0; l <= 10 - v; l++) {
        if (v === 0 && l === 0) continue // recency alone ignores the query
        const tuning = { ...base, weights: { vector: v / 10, lexical: l / 10, recency: (10 - v - l) / 10 } }
        grid.set(key(b, v, l), { tuning, per: scoreOf(tuning), smoothed: 0 })
      }
  })
  const moves = [
    [0, 0],
    [1, -1],
    [-1, 1],
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
  ] as const
  for (const [k, g] of grid) {
    const [b, v, l] = k.split(',').map(Number) as [number, number, number]
    const near = moves.map(([dv, dl]) => grid.get(key(b, v + dv, l + dl))).filter((x) => x !== undefined)
    g.smoothed = mean(near.map((x) => mean(x.per)))
  }
  return [...grid.values()].sort((a, b) => b.smoothed - a.smoothed || mean(b.per) - mean(a.per))
}

function printGrid(points: GridPoint[], n: number): void {
  console.log('best by smoothed mean recall@5 (smoothed, mean, per set):')
  for (const g of points.slice(0, n))
    console.log(`  ${describe(g.tuning)}: ${pct(g.smoothed)} ${pct(mean(g.per))} ${g.per.map(pct).join(' ')}`)
}

/**
 * MODEL_TUNING's search, on every set's tuning half with USE: the weight grid × word candidates ×
 * half-life × over-fetch × lexical scale, with the supersede rule at `rule`; then MODEL_TUNING's
 * weights with each number of word candidates (what was taken: recall.ts says why); then the rule's
 * similarity and margin at the grid's best point; then reciprocal-rank fusion, for comparison.
 */
async function tuneModel(sets: RecallSet[], rule: SupersedeRule): Promise<void> {
  const embedder = createUseEmbedder()
  const data: { set: RecallSet; cands: Candidates[] }[] = []
  for (const set of sets) {
    const p = await prepareSet(set, embedder, K * 8)
    data.push({ set, cands: candidatesOf(p, splitQueries(set.queries).tune) })
  }
  const bases: RecallTuning[] = []
  for (const wordCandidates of [0, 5, 10, 20])
    for (const overfetch of [4, 6, 8])
      for (const lexicalScale of ['best', 'query'] as const)
        for (const halfLifeDays of [90, 180, 365, 730])
          bases.push({ ...MODEL_TUNING, wordCandidates, overfetch, lexicalScale, halfLifeDays, supersede: rule })
  const points = weightGrid(bases, (t) => tuneScore(data, t))
  console.log(`USE, tuning halves (${data.map((d) => `${d.set.name}: ${d.cands.length}`).join(', ')}):`)
  printGrid(points, 15)
  console.log(`\nat MODEL_TUNING's other settings (${describe({ ...MODEL_TUNING, wordCandidates: 0 })}), by words:`)
  for (const wordCandidates of [0, 5, 10, 20]) {
    const per = tuneScore(data, { ...MODEL_TUNING, wordCandidates })
    console.log(`  ${wordCandidates} by words: ${pct(mean(per))} ${per.map(pct).join(' ')}`)
  }
  const best = points[0]!.tuning
  console.log(`\nsupersede rule at ${describe({ ...best, supersede: undefined })} (mean recall@5, per set):`)
  const off = tuneScore(data, { ...best, supersede: undefined })
  console.log(`  none: ${pct(mean(off))} ${off.map(pct).join(' ')}`)
  for (const similarity of [0.6, 0.65, 0.7, 0.75, 0.8])
    for (const margin of [0.1, 0.2, 0.3, 0.5, 1]) {
      const per = tuneScore(data, { ...best, supersede: { similarity, margin } })
      console.log(`  similarity ${similarity}, margin ${margin}: ${pct(mean(per))} ${per.map(pct).join(' ')}`)
    }
  console.log('\nreciprocal-rank fusion of vectors and BM25 over the candidates (mean recall@5, per set):')
  for (const [overfetch, words] of [
    [4, 0],
    [8, 0],
    [4, 20],
    [8, 20],
  ] as const)
    for (const k0 of [5, 20, 60]) {
      const per = data.map(({ cands }) =>
        mean(cands.map((c) => recallAt(K, rrf(c, overfetch, words, k0), c.q.relevant))),
      )
      console.log(`  over-fetch ${overfetch}, ${words} by words, k0 ${k0}: ${pct(mean(per))} ${per.map(pct).join(' ')}`)
    }
}

/** HASHING_TUNING's search: the first set's tuning half, the hashing embedder, weight grid × half-life. */
async function tuneHashing(set: RecallSet): Promise<void> {
  const p = await prepareSet(set, createHashingEmbedder(), K * HASHING_TUNING.overfetch)
  const { tune } = splitQueries(set.queries)
  const data = [{ set, cands: candidatesOf(p, tune) }]
  const bases = [0, 5, 10, 20].flatMap((wordCandidates) =>
    [30, 90, 180, 365].map((halfLifeDays) => ({ ...HASHING_TUNING, wordCandidates, halfLifeDays })),
  )
  console.log(`hashing embedder, tuning half of "${set.name}" (${tune.length}):`)
  printGrid(
    weightGrid(bases, (t) => tuneScore(data, t)),
    10,
  )
}

async function main(): Promise<void> {
  const gguf = process.env.MIRADOR_TEST_GGUF ?? path.resolve(HERE, '../../shared/models/stories260K.gguf')
  const sets = loadRecallSets()
  if (process.argv.includes('--tune')) {
    await tuneHashing(sets[0]!)
    console.log('')
    await tuneModel(sets, MODEL_TUNING.supersede!)
    return
  }
  printRecallRows(await runRecallBenchmark({ gguf, sets, all: process.argv.includes('--all') }))
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
