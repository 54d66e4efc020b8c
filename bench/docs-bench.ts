/**
 * The document index's numbers for `npm run bench` (section `docs`), on the real bundled Chroma
 * server in a temporary MIRADOR_HOME, with the real key and the Docs class `mirador docs` uses:
 *
 * - indexing throughput (MB/s of files read, cut, embedded, sealed and written), for a corpus of
 *   about 10,000 passages with the hashing embedder, and for a smaller one with the bundled
 *   sentence encoder (about 20 ms a passage on one core: 10,000 would take minutes);
 * - a sync with nothing changed (every file's size and time checked, nothing read);
 * - `docs search` latency (p50/p95) at about 10,000 passages: read the sealed catalog, embed the
 *   query, query Chroma, rank; the labelled set's questions.
 *
 * The corpus is Markdown made deterministically from the labelled set's sentences: files of
 * sections under headings, paragraphs of a few sentences, so passages are of a realistic length.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadCipher } from '../src/lib/crypto.js'
import { createHashingEmbedder, type Embedder } from '../src/lib/embedder.js'
import { createUseEmbedder } from '../src/lib/use-embedder.js'
import { stopChromaServer } from '../src/plugins/memory/chroma/server.js'
import { Docs } from '../src/plugins/memory/docs/docs.js'
import type { SyncReport } from '../src/plugins/memory/docs/sync.js'
import { seededRandom } from '../test/support/make-lora.js'
import { loadRecallSet } from './memory-recall.js'

export interface DocsIndexing {
  embedder: string
  files: number
  chunks: number
  bytes: number
  ms: number
  mbPerSecond: number
}

export interface DocsBench {
  indexing: DocsIndexing[]
  /** `docs sync` of the large corpus with nothing changed, ms */
  resyncMs: number
  search: { chunks: number; p50: number; p95: number; queries: number }
}

/** `files` Markdown files of `sections` sections of three paragraphs each, under `dir` */
function corpus(dir: string, files: number, sections: number, seed: number): void {
  const set = loadRecallSet()
  const sentences = set.memories.map((m) => m.text)
  const random = seededRandom(seed)
  const pick = () => sentences[Math.floor(random() * sentences.length)]!
  const paragraph = () => Array.from({ length: 3 + Math.floor(random() * 4) }, pick).join(' ')
  for (let f = 0; f < files; f++) {
    const sub = path.join(dir, `topic-${f % 20}`)
    mkdirSync(sub, { recursive: true })
    const parts = [`# Notes ${f}`, '']
    for (let s = 0; s < sections; s++)
      parts.push(`## ${pick().split(' ').slice(0, 4).join(' ')}`, '', paragraph(), '', paragraph(), '', paragraph(), '')
    writeFileSync(path.join(sub, `notes-${f}.md`), parts.join('\n'))
  }
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}

async function index(docs: Docs, dir: string, embedder: Embedder): Promise<{ row: DocsIndexing; report: SyncReport }> {
  const t0 = performance.now()
  const report = await docs.add([dir], {})
  const ms = performance.now() - t0
  return {
    report,
    row: {
      embedder: embedder.id,
      files: report.added,
      chunks: report.chunks,
      bytes: report.bytes,
      ms,
      mbPerSecond: report.bytes / 1e6 / (ms / 1000),
    },
  }
}

export async function docsBench(opts: { onProgress?: (message: string) => void } = {}): Promise<DocsBench> {
  const log = opts.onProgress ?? (() => {})
  const root = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-docs-'))
  const home = path.join(root, 'home')
  // the bundled server, whatever CHROMA_URL says: the benchmark must not touch a user's store
  const env: NodeJS.ProcessEnv = { ...process.env, MIRADOR_CHROMA_IDLE_MS: '0' }
  delete env.CHROMA_URL
  const docsWith = (embedder: Embedder) =>
    new Docs({ home, env, cipher: () => loadCipher({ home, env }), embedder: () => embedder, threshold: () => 0.1 })
  try {
    const hashing = createHashingEmbedder()
    const large = path.join(root, 'large')
    // about 10 passages a file
    corpus(large, 1000, 10, 11)
    const docs = docsWith(hashing)
    log('docs: indexing the large corpus (hashing)')
    const big = await index(docs, large, hashing)
    const t0 = performance.now()
    await docs.sync()
    const resyncMs = performance.now() - t0

    log('docs: searching')
    const queries = loadRecallSet().queries.map((q) => q.text)
    for (const q of queries.slice(0, 10)) await docs.search(q, { limit: 5 })
    const times: number[] = []
    for (let i = 0; i < 200; i++) {
      const t = performance.now()
      await docs.search(queries[i % queries.length]!, { limit: 5 })
      times.push(performance.now() - t)
    }

    // the bundled encoder in its own home: passages of one embedder are never mixed with another's
    log('docs: indexing the small corpus (bundled sentence encoder)')
    const use = createUseEmbedder()
    await use.embed(['warm up'])
    const small = path.join(root, 'small')
    corpus(small, 20, 10, 12)
    const useHome = path.join(root, 'use-home')
    const useDocs = new Docs({
      home: useHome,
      env,
      cipher: () => loadCipher({ home: useHome, env }),
      embedder: () => use,
      threshold: () => 0.1,
    })
    const semantic = await index(useDocs, small, use)
    await stopChromaServer(useHome)
    return {
      indexing: [big.row, semantic.row],
      resyncMs,
      search: { chunks: big.report.chunks, p50: percentile(times, 50), p95: percentile(times, 95), queries: 200 },
    }
  } finally {
    await stopChromaServer(home)
  }
}
