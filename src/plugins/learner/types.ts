/**
 * The learner's shared shapes. A chain's `weights:` map holds, per query type, the learned chance
 * (0–1) that the user rates this chain's answer to such a query 4 or 5; the append-only journal
 * holds every rating and is the source of truth the weights can be rebuilt from.
 */

/** A query's embedding as the learner keeps it, with the embedder that made it (vectors of two embedders never mix). */
export interface StoredVector {
  /** the embedder's id (`hashing-v1/384`, …) */
  embedder: string
  /** unit length */
  values: number[]
}

/**
 * A recorded run, as `Journal.read` gives it. On disk everything but `runId` and `at` is sealed
 * with the memory key (journal.ts); the query's text and the session's name are never kept.
 */
export interface RunEntry {
  kind: 'run'
  runId: string
  at: number
  chain: string
  /** the chain file, so a rating finds it later */
  file?: string
  type: string
  /** the keyed hash of the session the run continued (lib/session-hash.ts), so forgetting the session reaches it */
  session?: string
  /** the query's embedding, for the nearest-centroid step of classify.ts (removed by forget) */
  vector?: StoredVector
  /**
   * A run line of a journal written before sealing: its text and session name in the clear. Read
   * as they are until the journal's first write, which seals them (journal.ts).
   */
  legacy?: { query?: string; session?: string }
}

export type JournalEntry =
  | RunEntry
  | { kind: 'rating'; runId: string; chain: string; type: string; rating: number; at: number }
  /** the user set a weight by hand (detected when the file differs from the journal's view) */
  | { kind: 'set'; chain: string; type: string; weight: number; at: number }
  /** `learn rollback` put a chain file back as it was before this rating: it no longer counts */
  | { kind: 'undo'; runId: string; ratingAt: number; at: number }

export interface WeightState {
  /** posterior mean of "rated ≥ 4" */
  weight: number
  /** ratings behind it */
  count: number
}

/** chain → type → state */
export type Weights = Record<string, Record<string, WeightState>>
