/**
 * Recall latency: p50/p95 of one `recall()` (embed the query + store query for k × over-fetch +
 * rank + threshold) at 1,000 and 10,000 memories. Goal: ≤ 25 ms p50 at 10k.
 *
 * `measureRecallLatency({ store })` fills the store it is given (bench/run.ts passes the real
 * Chroma store) with synthetic memories, in batches, up to each size in turn, and times recalls of
 * the labelled set's queries at each size; it also splits the time into embedding, store, the word
 * source (when given `words`, as the memory service gives recall its StoreWords) and ranking. The
 * memories are built deterministically (seeded) from the labelled set's sentences, so their words,
 * lengths and BM25 statistics look like real ones.
 *
 * Standalone, it measures the brute-force in-memory store (bench/memory-inmemory.ts) with the
 * hashing embedder:
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/memory-latency.ts
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHashingEmbedder, type Embedder } from '../src/lib/embedder.js'
import { recall } from '../src/plugins/memory/recall.js'
import type { MemoryRecord, MemoryStore, WordSource } from '../src/plugins/memory/types.js'
import { seededRandom } from '../test/support/make-lora.js'
import { InMemoryStore } from './memory-inmemory.js'
import { loadRecallSet, type RecallSet } from './memory-recall.js'

const DAY_MS = 86_400_000

export interface LatencyResult {
  /** memories in the store when measured */
  size: number
  queries: number
  /** whole recall(), ms */
  p50: number
  p95: number
  /** medians of the parts, ms (the word source's search runs while the query is embedded) */
  embedP50: number
  storeP50: number
  wordsP50: number
  rankP50: number
  /** ms spent embedding and adding memories to reach this size (from the previous size) */
  fillMs: number
}

export interface LatencyOptions {
  store: MemoryStore
  /** default: the hashing embedder (384-d) */
  embedder?: Embedder
  /** default [1000, 10000], filled in increasing order */
  sizes?: number[]
  /** timed recalls per size (default 200; the labelled queries, cycled) */
  queries?: number
  /** untimed recalls first (default 20) */
  warmup?: number
  k?: number
  /** default: recall's, for the embedder (tuningFor) */
  overfetch?: number
  /**
   * candidates by words (the memory service's StoreWords over the same store); none when absent.
   * Refreshed after each fill, untimed, as the service's is when a run tells it what it wrote.
   */
  words?: WordSource & { refresh?: () => Promise<void> }
  /** records per store.add (default 1000) */
  batch?: number
  seed?: number
  /** the labelled set the texts and queries come from */
  set?: RecallSet
  onProgress?: (message: string) => void
}

/** `n` memory texts made from the labelled set's sentences (seeded, so always the same ones). */
export function syntheticMemories(
  set: RecallSet,
  n: number,
  seed = 7,
  offset = 0,
): { id: string; text: string; createdAt: number }[] {
  const random = seededRandom(seed + offset)
  const texts = set.memories.map((m) => m.text.replace(/[.]$/, ''))
  const words = texts.flatMap((t) => t.split(/\s+/))
  const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!
  const out: { id: string; text: string; createdAt: number }[] = []
  for (let i = 0; i < n; i++) {
    const extra = Array.from({ length: 2 + Math.floor(random() * 6) }, () => pick(words)).join(' ')
    const text = random() < 0.5 ? `${pick(texts)}; ${extra}.` : `${pick(texts)}, and ${pick(texts).toLowerCase()}.`
    const createdAt = set.now - Math.floor(random() * 730 * DAY_MS)
    out.push({ id: `m_${createdAt.toString(36)}${(offset + i).toString(16).padStart(6, '0')}`, text, createdAt })
  }
  return out
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

export async function measureRecallLatency(options: LatencyOptions): Promise<LatencyResult[]> {
  const set = options.set ?? loadRecallSet()
  const embedder = options.embedder ?? createHashingEmbedder()
  const sizes = [...(options.sizes ?? [1000, 10_000])].sort((a, b) => a - b)
  const nQueries = options.queries ?? 200
  const warmup = options.warmup ?? 20
  const k = options.k ?? 5
  const overfetch = options.overfetch
  const batch = options.batch ?? 1000
  const log = options.onProgress ?? (() => {})

  // the parts of one recall, timed through thin wrappers
  let embedMs = 0
  let storeMs = 0
  const timedEmbedder: Embedder = {
    id: embedder.id,
    get dims() {
      return embedder.dims
    },
    async embed(texts, o) {
      const t = performance.now()
      try {
        return await embedder.embed(texts, o)
      } finally {
        embedMs += performance.now() - t
      }
    },
  }
  let wordsMs = 0
  const words = options.words
  const timedWords: WordSource | undefined = words && {
    async search(query, n, filter) {
      const t = performance.now()
      try {
        return await words.search(query, n, filter)
      } finally {
        wordsMs += performance.now() - t
      }
    },
  }
  const timedStore: Pick<MemoryStore, 'query'> = {
    async query(embedding, n, filter) {
      const t = performance.now()
      try {
        return await options.store.query(embedding, n, filter)
      } finally {
        storeMs += performance.now() - t
      }
    },
  }

  const results: LatencyResult[] = []
  let have = await options.store.count()
  for (const size of sizes) {
    const t0 = performance.now()
    while (have < size) {
      const n = Math.min(batch, size - have)
      const mems = syntheticMemories(set, n, options.seed ?? 7, have)
      const vectors = await embedder.embed(mems.map((m) => m.text))
      const recs: MemoryRecord[] = mems.map((m, i) => ({
        id: m.id,
        text: m.text,
        embedding: vectors[i]!,
        meta: { chain: 'bench', runId: 'bench-latency', createdAt: m.createdAt, kind: 'turn', recalls: 0 },
      }))
      await options.store.add(recs)
      have += n
    }
    const fillMs = performance.now() - t0
    await words?.refresh?.()
    have = await options.store.count()
    log(`${have} memories (filled in ${Math.round(fillMs)} ms); timing ${nQueries} recalls`)

    const total: number[] = []
    const embeds: number[] = []
    const stores: number[] = []
    const wordParts: number[] = []
    const ranks: number[] = []
    for (let i = 0; i < warmup + nQueries; i++) {
      const q = set.queries[i % set.queries.length]!.text
      embedMs = 0
      storeMs = 0
      wordsMs = 0
      const t = performance.now()
      await recall({
        store: timedStore,
        embedder: timedEmbedder,
        ...(timedWords ? { words: timedWords } : {}),
        query: q,
        k,
        now: set.now,
        ...(overfetch ? { overfetch } : {}),
      })
      const all = performance.now() - t
      if (i < warmup) continue
      total.push(all)
      embeds.push(embedMs)
      stores.push(storeMs)
      wordParts.push(wordsMs)
      // the word source's search runs beside the embedding and the store's query: ranking starts after both
      ranks.push(all - Math.max(embedMs + storeMs, wordsMs))
    }
    results.push({
      size: have,
      queries: nQueries,
      p50: percentile(total, 50),
      p95: percentile(total, 95),
      embedP50: percentile(embeds, 50),
      storeP50: percentile(stores, 50),
      wordsP50: percentile(wordParts, 50),
      rankP50: percentile(ranks, 50),
      fillMs,
    })
  }
  return results
}

export function printLatency(label: string, results: LatencyResult[]): void {
  const f = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 1)} ms`
  console.log(`Recall latency, ${label} (k 5, over-fetch 4; goal ≤ 25 ms p50 at 10k):`)
  console.log('| memories | p50 | p95 | embed p50 | store p50 | words p50 | rank p50 | fill |')
  console.log('|---|---|---|---|---|---|---|---|')
  for (const r of results) {
    const cells = [
      r.size,
      f(r.p50),
      f(r.p95),
      f(r.embedP50),
      f(r.storeP50),
      f(r.wordsP50),
      f(r.rankP50),
      `${(r.fillMs / 1000).toFixed(1)} s`,
    ]
    console.log(`| ${cells.join(' | ')} |`)
  }
}

async function main(): Promise<void> {
  const results = await measureRecallLatency({ store: new InMemoryStore(), onProgress: (m) => console.error(m) })
  printLatency('brute-force in-memory store, hashing embedder', results)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
}
