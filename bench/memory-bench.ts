/**
 * The memory plugin's numbers for `npm run bench`, on a real Chroma server (the bundled one, in a
 * temporary MIRADOR_HOME) with the real cipher: recall latency at 1k and 10k memories, and the
 * time memory injection adds before a stage's first token (with 10k memories in the store).
 */
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Engine } from '../src/engine/engine.js'
import { ensureChromaServer, stopChromaServer } from '../src/plugins/memory/chroma/server.js'
import { createChromaStore } from '../src/plugins/memory/chroma/store.js'
import { loadCipher } from '../src/lib/crypto.js'
import { createHashingEmbedder } from '../src/lib/embedder.js'
import { createUseEmbedder, USE_ID } from '../src/lib/use-embedder.js'
import { recallFromService } from '../src/plugins/memory/service/client.js'
import { MemoryPlugin } from '../src/plugins/memory/index.js'
import { collectionFor } from '../src/plugins/memory/open-store.js'
import { StoreWords } from '../src/plugins/memory/words.js'
import { scriptedModels } from '../test/support/scripted-model.js'
import { median } from './lib.js'
import { measureRecallLatency, type LatencyResult } from './memory-latency.js'
import { loadRecallSet } from './memory-recall.js'

export interface MemoryBench {
  latency: LatencyResult[]
  /** the same with the bundled sentence encoder, warm, and the word source (as the memory service holds them) */
  useLatency: LatencyResult[]
  /** the same without the word source (the vectors' candidates alone) */
  useNoWordsLatency: LatencyResult[]
  /** recall asked of the memory service itself over its socket (USE, the largest size), warm: ms */
  served: { size: number; p50: number; p95: number }
  /** ms from asking a memory service that has not loaded the sentence encoder yet to its answer */
  useColdMs: number
  /** ms to the first token, medians: with memory (10k memories) and without */
  firstTokenWith: number
  firstTokenWithout: number
}

async function firstTokenMs(home: string, memory: boolean, runs: number, env: NodeJS.ProcessEnv): Promise<number> {
  const engine = new Engine({ cwd: home, home, offline: true, memory, config: {}, env })
  engine.use(scriptedModels({ m: { tokens: ['ok'] } }).plugin)
  if (memory) engine.use(new MemoryPlugin({}))
  const times: number[] = []
  let t0 = 0
  let first = -1
  engine.hooks.event.tap('Bench', (e) => {
    if (e.type === 'token' && first < 0) first = performance.now() - t0
  })
  const chain = { stages: { s: { model: 'm', prompt: '{{memory}}\n{{query}}' } } }
  for (let i = 0; i < runs + 3; i++) {
    first = -1
    t0 = performance.now()
    await engine.run({
      chain: { name: 'b', value: chain },
      query: `what did I plan for the trip, question ${i}`,
      startedAt: t0,
    })
    if (i >= 3) times.push(first)
  }
  return median(times)
}

/**
 * Warm recall as a run gets it from the memory service (USE, the labelled set's questions): the
 * socket, the service's recall and its index of words, which its first answers start building.
 */
async function servedLatency(home: string, size: number, n: number): Promise<MemoryBench['served']> {
  const queries = loadRecallSet().queries.map((q) => q.text)
  const ask = (q: string) => recallFromService(home, { embedder: USE_ID, query: q, k: 20 }, 60_000)
  // the index is built beside the first answers; then warm up as the in-process measure does
  await ask(queries[0]!)
  await new Promise((r) => setTimeout(r, 3000))
  for (let i = 0; i < 20; i++) await ask(queries[i % queries.length]!)
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t = performance.now()
    if (!(await ask(queries[i % queries.length]!))) return { size, p50: Number.NaN, p95: Number.NaN }
    times.push(performance.now() - t)
  }
  times.sort((a, b) => a - b)
  return { size, p50: median(times), p95: times[Math.ceil(0.95 * times.length) - 1]! }
}

export async function memoryBench(): Promise<MemoryBench> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-memory-'))
  // the bundled server, whatever CHROMA_URL says: the benchmark must not touch a user's store
  const env: NodeJS.ProcessEnv = { ...process.env, MIRADOR_CHROMA_IDLE_MS: '0' }
  delete env.CHROMA_URL
  try {
    const server = await ensureChromaServer({ home, env })
    const cipher = await loadCipher({ home, env })
    const embedder = createHashingEmbedder()
    // the plugin's own collection, so the injection run below recalls from these 10k memories
    const store = await createChromaStore({
      url: server.url,
      token: server.token!,
      collection: collectionFor(embedder.id),
      cipher,
    })
    const latency = await measureRecallLatency({ store, embedder, sizes: [1000, 10_000], queries: 200 })
    const firstTokenWith = await firstTokenMs(home, true, 20, env)
    const firstTokenWithout = await firstTokenMs(home, false, 20, env)
    // cold: the service beside this server has not loaded the encoder yet; its first answer loads it
    const t0 = performance.now()
    const cold = await recallFromService(
      home,
      { embedder: USE_ID, query: 'what did I plan for the trip?', k: 20 },
      60_000,
    )
    const useColdMs = cold ? performance.now() - t0 : Number.NaN
    // warm: what the service does for each run (embed the question, query, search its index of
    // words, rank), at 1k and 10k; then the same without words, and the service itself, over its socket
    const use = createUseEmbedder()
    const useStore = await createChromaStore({
      url: server.url,
      token: server.token!,
      collection: collectionFor(use.id),
      cipher,
    })
    const useLatency = await measureRecallLatency({
      store: useStore,
      embedder: use,
      words: new StoreWords(useStore),
      sizes: [1000, 10_000],
      queries: 100,
      batch: 256,
    })
    const useNoWordsLatency = await measureRecallLatency({
      store: useStore,
      embedder: use,
      sizes: [10_000],
      queries: 100,
    })
    const served = await servedLatency(home, useLatency.at(-1)!.size, 100)
    return { latency, firstTokenWith, firstTokenWithout, useLatency, useNoWordsLatency, served, useColdMs }
  } finally {
    await stopChromaServer(home)
  }
}
