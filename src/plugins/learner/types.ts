/**
 * The learner's shared shapes. A chain's `weights:` map holds, per query type, the learned chance
 * (0–1) that the user rates this chain's answer to such a query 4 or 5; the append-only journal
 * holds every rating and is the source of truth the weights can be rebuilt from.
 */

/** One line of the journal (JSON Lines, fsynced, under $MIRADOR_HOME/learner/journal.jsonl). */
export type JournalEntry =
  | {
      kind: 'run'
      runId: string
      chain: string
      /** the chain file, so a rating finds it later */
      file?: string
      type: string
      /** the query, when memory is on (used to learn query types; removed by forget) */
      query?: string
      /** the session the run continued */
      session?: string
      at: number
    }
  | { kind: 'rating'; runId: string; chain: string; type: string; rating: number; at: number }
  /** the user set a weight by hand (detected when the file differs from the journal's view) */
  | { kind: 'set'; chain: string; type: string; weight: number; at: number }

export interface WeightState {
  /** posterior mean of "rated ≥ 4" */
  weight: number
  /** ratings behind it */
  count: number
}

/** chain → type → state */
export type Weights = Record<string, Record<string, WeightState>>
