/**
 * The memory service: recall answered by the background process that already outlives runs (the
 * Chroma supervisor), where the store's client, the key and the embedder stay warm. A run sends one
 * line and reads one line back over a Unix socket only the user can open
 * (`$MIRADOR_HOME/memory/service.sock`), instead of loading the client, reading the key and opening
 * the collection itself before its first token.
 *
 * One JSON object a line, each way; a request's `id` comes back on its answer.
 */
import path from 'node:path'
import type { Ranked } from '../recall.js'
import type { Unreadable } from '../types.js'

/** bumped when the lines change: a service of another version is not asked */
export const SERVICE_VERSION = 1

export function serviceSocket(home: string): string {
  return path.join(path.resolve(home), 'memory', 'service.sock')
}

export interface RecallRequest {
  id: number
  op: 'recall'
  version: number
  /** the embedder the run uses (only the ones the service runs itself: hashing, the bundled USE) */
  embedder: string
  query: string
  k: number
  session?: string
}

/** Vectors from an embedder the service keeps loaded (what a run remembers, what the learner classifies). */
export interface EmbedRequest {
  id: number
  op: 'embed'
  version: number
  embedder: string
  texts: string[]
}

/**
 * A run (or `memory import`) wrote memories with this embedder's vectors: the service's index of
 * words (words.ts) reads them before it answers, so the next recall finds them by their words.
 * A service without the op answers USAGE, and the index learns of them at its next timed refresh.
 */
export interface RefreshRequest {
  id: number
  op: 'refresh'
  version: number
  embedder: string
}

export type ServiceRequest = RecallRequest | EmbedRequest | RefreshRequest

export type ServiceAnswer =
  | { id: number; ok: true; results: Ranked[]; unreadable?: Unreadable[] }
  | { id: number; ok: true; vectors: number[][] }
  /** refreshed: false when the service had no index of words for that embedder yet (nothing to bring) */
  | { id: number; ok: true; refreshed: boolean }
  | { id: number; ok: false; code: string; message: string }
