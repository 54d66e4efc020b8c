/**
 * A passage of a document as the store keeps it, and as search gives it back.
 *
 * Passages live in a collection of their own per embedder (`mirador-docs-…`, beside the memories'
 * `mirador-…`), so recall of conversations never meets a document and pruning never drops one. A
 * passage is a memory record of kind `doc` whose sealed text is a small JSON object: the path, the
 * line range, the headings above it and the text. In the clear the store has only its id (made of
 * keyed hashes), its vector and `runId`: the keyed hash of its file's path. Search checks each id
 * against the catalog (catalog.ts) so a passage of a file removed or changed meanwhile is never given.
 *
 * Ranking is recall's (recall.ts): vector similarity and BM25 over the candidates, with the weights
 * measured for the embedder in use, but no recency: when a file was indexed says nothing about
 * whether it answers. The similarity threshold is memory's.
 */
import path from 'node:path'
import { l2normalize, type Embedder } from '../../../lib/embedder.js'
import { isRelevant, rankMemories, tuningFor, type Ranked } from '../recall.js'
import type { MemoryRecord, VectorHit } from '../types.js'
import type { Chunk } from './chunk.js'

export interface Passage {
  id: string
  /** absolute */
  path: string
  start: number
  end: number
  heading: string
  text: string
  /** recall's combined score, in [0, 1] */
  score: number
  /** cosine similarity to the query */
  similarity: number
  /** the score's parts (recall.ts), for what counts as relevant (isRelevant) */
  components: Ranked['components']
}

interface Sealed {
  p: string
  s: number
  e: number
  h: string
  t: string
}

/** the collection of an embedder's passages, beside its memories' (`collectionFor`, open-store.ts) */
export function docsCollection(memoryCollection: string): string {
  return memoryCollection.replace(/^mirador-/, 'mirador-docs-').slice(0, 63)
}

/**
 * The bundled sentence encoder reads about the first 450 characters of a text and ignores the rest
 * (measured: its vectors of 500 and 2,400 characters of one text are the same), so a passage is
 * embedded in windows of at most this many characters, and its vector is their mean.
 */
export const EMBED_WINDOW = 400

/**
 * What is embedded for a passage: its text in windows (cut at a space or line end where one is
 * near), each headed by the file's name and the headings above, which give a bare paragraph its
 * subject.
 */
export function embedWindows(file: string, chunk: Chunk, size = EMBED_WINDOW): string[] {
  const where = [path.basename(file), chunk.heading].filter(Boolean).join(' > ')
  const out: string[] = []
  let rest = chunk.text.trim()
  while (rest.length > size) {
    const space = Math.max(rest.lastIndexOf(' ', size), rest.lastIndexOf('\n', size))
    const cut = space > size / 2 ? space : size
    out.push(rest.slice(0, cut))
    rest = rest.slice(cut).trimStart()
  }
  if (rest || out.length === 0) out.push(rest)
  return out.map((w) => `${where}\n${w}`)
}

/** One vector per passage: the normalised mean of its windows' vectors, embedded `batch` texts at a time. */
export async function embedPassages(
  embedder: Pick<Embedder, 'embed'>,
  passages: { file: string; chunk: Chunk }[],
  batch: number,
): Promise<number[][]> {
  const texts = passages.map((p) => embedWindows(p.file, p.chunk))
  const flat = texts.flat()
  const vectors: number[][] = []
  for (let i = 0; i < flat.length; i += batch) vectors.push(...(await embedder.embed(flat.slice(i, i + batch))))
  let at = 0
  return texts.map((w) => {
    const parts = vectors.slice(at, (at += w.length))
    if (parts.length === 1) return parts[0]!
    return l2normalize(parts[0]!.map((_, d) => parts.reduce((s, v) => s + v[d]!, 0) / parts.length))
  })
}

export function toRecord(
  file: { path: string; key: string },
  chunk: Chunk,
  id: string,
  embedding: number[],
  at: number,
): MemoryRecord {
  const sealed: Sealed = { p: file.path, s: chunk.start, e: chunk.end, h: chunk.heading, t: chunk.text }
  return {
    id,
    text: JSON.stringify(sealed),
    embedding,
    meta: { chain: 'docs', runId: file.key, createdAt: at, kind: 'doc', recalls: 0 },
  }
}

/** The passage a stored record holds, or undefined for one that is not a passage. */
export function fromHit(
  hit: VectorHit,
): (VectorHit & { passage: Omit<Passage, 'score' | 'similarity' | 'components'> }) | undefined {
  let v: Partial<Sealed>
  try {
    v = JSON.parse(hit.text) as Partial<Sealed>
  } catch {
    return undefined
  }
  if (typeof v.p !== 'string' || typeof v.t !== 'string' || typeof v.s !== 'number' || typeof v.e !== 'number')
    return undefined
  const passage = { id: hit.id, path: v.p, start: v.s, end: v.e, heading: v.h ?? '', text: v.t }
  // what BM25 reads: the headings count as words of the passage
  return { ...hit, text: [passage.heading, passage.text].filter(Boolean).join('\n'), passage }
}

/**
 * The best `k` passages among the store's nearest `hits`, those of files the catalog still holds
 * (`current`: passage ids) and at or above `threshold`; best first.
 */
export function rankPassages(
  query: string,
  hits: VectorHit[],
  opts: { embedderId: string; k: number; threshold: number; current: { has(id: string): boolean } },
): Passage[] {
  const found = hits.flatMap((h) => {
    const p = opts.current.has(h.id) ? fromHit(h) : undefined
    return p ? [p] : []
  })
  const tuning = tuningFor(opts.embedderId)
  const { weights } = tuning
  const ranked = rankMemories(query, found, {
    now: 0,
    k: found.length,
    weights: { vector: weights.vector, lexical: weights.lexical, recency: 0 },
  })
  const byId = new Map(found.map((f) => [f.id, f.passage]))
  return ranked
    .filter((r) => isRelevant(r, opts.threshold, tuning))
    .slice(0, opts.k)
    .map((r) => ({ ...byId.get(r.id)!, score: r.score, similarity: r.similarity, components: r.components }))
}

/** The path as a user reads it: below the working folder, relative to it; elsewhere, absolute. */
export function shownPath(file: string, cwd = process.cwd()): string {
  const rel = path.relative(cwd, file)
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file
}

/** `notes/garden.md:12-30` */
export function citation(p: Pick<Passage, 'path' | 'start' | 'end'>, cwd?: string): string {
  return `${shownPath(p.path, cwd)}:${p.start}-${p.end}`
}
