/**
 * What a member shares: its learner's rating counts as a fixed-length vector over the group's
 * vocabulary (vocabulary.ts), never text, sessions, embeddings or paths.
 *
 * For each (query type, chain) of the vocabulary the vector holds [positive, negative]: how many of
 * the member's runs of that type answered by that chain were rated ≥ 4, and how many below. Those
 * are exactly what the learner's Beta posteriors are made of (α − 1 and β − 1 of a Beta built from
 * ratings alone), so the sum over members is a community Beta per pair: the opened total becomes
 * pseudo-ratings added to a new member's prior (a later step; the weight is documented there).
 *
 * The input is the learner journal's clear lines (`rating` and `undo`; run lines and `set` lines
 * are ignored, so the sealed part of the journal is never opened). Counting follows the learner's
 * rules: a run counts once, by its last rating that no `undo` names (rating a run again replaces
 * its rating). The shape is declared here rather than imported because one plugin folder may not
 * import another; the learner's `JournalEntry[]` fits it as it is.
 */
import type { Vocabulary } from './vocabulary.js'
import { slotOf, vectorLength } from './vocabulary.js'

/** A rating at or above this is a positive (the learner's own threshold: "rated 4 or 5"). */
export const POSITIVE_RATING = 4

/** A learner journal line as far as federation reads it (learner/types.ts `JournalEntry` fits). */
export interface LearnerRecord {
  kind: string
  runId?: string
  chain?: string
  type?: string
  rating?: number
  at?: number
  /** on `undo` lines: the time of the rating it takes back */
  ratingAt?: number
}

const key = (runId: string, at: number) => `${runId}\u0000${at}`

/** The counts vector of these journal records over `vocabulary` (see the file's comment). */
export function countsVector(records: Iterable<LearnerRecord>, vocabulary: Vocabulary): number[] {
  const list = [...records]
  const undone = new Set(
    list.flatMap((r) =>
      r.kind === 'undo' && r.runId !== undefined && r.ratingAt !== undefined ? [key(r.runId, r.ratingAt)] : [],
    ),
  )
  /** run → its rating that counts now (the last one not undone) */
  const last = new Map<string, { chain: string; type: string; positive: boolean }>()
  for (const r of list) {
    if (r.kind !== 'rating' || r.runId === undefined || r.at === undefined) continue
    if (typeof r.chain !== 'string' || typeof r.type !== 'string' || typeof r.rating !== 'number') continue
    if (!Number.isFinite(r.rating) || undone.has(key(r.runId, r.at))) continue
    last.set(r.runId, { chain: r.chain, type: r.type, positive: r.rating >= POSITIVE_RATING })
  }
  const out = new Array<number>(vectorLength(vocabulary)).fill(0)
  for (const { chain, type, positive } of last.values()) {
    const slot = slotOf(vocabulary, type, chain)
    if (slot >= 0) out[positive ? slot : slot + 1]! += 1
  }
  return out
}
