/**
 * The shapes the memory plugin's parts agree on: what a memory is, how the store is asked, and
 * how text is sealed at rest.
 */

/** a run's question and answer, a summary of a long one, a line of `memory import`, or a document's passage (docs/) */
export type MemoryKind = 'turn' | 'summary' | 'import' | 'doc'

export interface MemoryMeta {
  /** the chain that answered (`import` for an imported memory) */
  chain: string
  /** the session the turn belongs to, when the run had one */
  session?: string
  runId: string
  /** ms since the epoch */
  createdAt: number
  kind: MemoryKind
  /** how often it was injected into a prompt */
  recalls: number
  lastRecalledAt?: number
  /** the user's own id for an imported memory, given back by search as it was given */
  ref?: string | number
}

export interface MemoryRecord {
  /** `m_` + base-36 time + random hex */
  id: string
  /** the (redacted) text: "Q: …\nA: …" or a summary of a long answer */
  text: string
  embedding: number[]
  meta: MemoryMeta
}

export interface StoredMemory {
  id: string
  text: string
  meta: MemoryMeta
}

export interface VectorHit extends StoredMemory {
  /** cosine distance (0 = same direction) */
  distance: number
  /** the memory's own vector, when the store gives it (recall compares candidates with it: supersede.ts) */
  embedding?: number[]
}

/** A memory with its vector. */
export interface StoredVector extends StoredMemory {
  embedding: number[]
}

/**
 * Candidates by words (words.ts): the memories whose words best match a query, by BM25 over every
 * memory (or every memory of a session), best first, each with its vector. recall() adds them to
 * the vector search's candidates.
 */
export interface WordSource {
  search(query: string, n: number, filter?: { session?: string }): Promise<StoredVector[]>
}

/** What keeping an index of words current asks of a store (words.ts; the Chroma store and the bench's give it). */
export interface WordIndexedStore extends Pick<MemoryStore, 'count' | 'get'> {
  /** every record's id, and nothing else (no text to read or open) */
  listIds(): Promise<string[]>
  /** these records with their vectors; those no longer there, or that do not open, are left out */
  withVectors(ids: string[]): Promise<StoredVector[]>
}

export interface MemoryFilter {
  ids?: string[]
  session?: string
  /** createdAt strictly before (ms since the epoch) */
  before?: number
  /** createdAt at or after (ms since the epoch) */
  since?: number
  all?: boolean
}

/** A record that a read skipped because it does not open, and why. */
export interface Unreadable {
  id: string
  reason: string
}

/** The long-term store (Chroma). Documents are sealed by a Cipher before they leave the process. */
export interface MemoryStore {
  add(records: MemoryRecord[]): Promise<void>
  /** nearest by embedding, optionally within a session */
  query(embedding: number[], k: number, filter?: { session?: string }): Promise<VectorHit[]>
  get(filter: MemoryFilter & { limit?: number; offset?: number }): Promise<StoredMemory[]>
  /** returns how many were removed */
  delete(filter: MemoryFilter): Promise<number>
  count(): Promise<number>
  /** changes metadata fields (recall counters) without touching text or vectors */
  updateMeta(id: string, patch: Partial<Pick<MemoryMeta, 'recalls' | 'lastRecalledAt'>>): Promise<void>
  /** records reads skipped since the store was opened: not sealed by this key (added from outside, altered) */
  unreadable?(): Unreadable[]
}

export type { Cipher } from '../../lib/crypto.js'
