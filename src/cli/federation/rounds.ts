/**
 * What `federation status` says about the rounds on a group's exchange, from the file names alone
 * (`rounds/<round>/…`, docs/federation.md): how far each round went and how many members posted at
 * each step. Nothing is opened or verified here (`federation verify` does that).
 */
import { MiradorError } from '../../engine/errors.js'
import { createExchange, type ExchangeOptions } from '../../plugins/federation/exchange/index.js'

/** The closing files of a round, in the order a round writes them. */
const STEPS = ['open', 'commits', 'survivors', 'result'] as const
/** the phase a round is in once the step's file exists */
const PHASE_AFTER = { open: 'commit', commits: 'mask', survivors: 'reveal', result: 'done' } as const

export type RoundPhase = (typeof PHASE_AFTER)[keyof typeof PHASE_AFTER] | 'failed' | 'unknown'

export interface RoundSummary {
  round: string
  /** commit: members post commits; mask: masked bundles; reveal: reveals; done: result.json; failed: failed.json */
  phase: RoundPhase
  /** which of open, commits, survivors, result and failed (`NAME.json`) are there */
  files: string[]
  commits: number
  bundles: number
  reveals: number
}

/** Round ids as the exchange names them: 0001, 0002, … */
export const roundId = (n: number): string => String(n).padStart(4, '0')

export function summarizeRound(round: string, names: readonly string[]): RoundSummary {
  const has = (step: string) => names.includes(`${step}.json`)
  const files = [...STEPS, 'failed'].filter(has)
  const reached = STEPS.filter(has).at(-1)
  const count = (prefix: string) => names.filter((n) => n.startsWith(`${prefix}-`) && n.endsWith('.json')).length
  return {
    round,
    phase: has('failed') ? 'failed' : reached ? PHASE_AFTER[reached] : 'unknown',
    files,
    commits: count('commit'),
    bundles: count('bundle'),
    reveals: count('reveal'),
  }
}

export type RoundsOnExchange = { rounds: RoundSummary[] } | { rounds: null; unknown: string }

/**
 * The rounds on the exchange, oldest first; `{ rounds: null, unknown }` when it cannot be read
 * (offline, unreachable): status still shows everything else.
 */
export async function roundsOn(url: string, options: ExchangeOptions): Promise<RoundsOnExchange> {
  try {
    const x = createExchange(url, options)
    try {
      // list() shows files only, so rounds are found by their ids, 0001, 0002, … until one is missing
      const rounds: RoundSummary[] = []
      for (let n = 1; ; n++) {
        const id = roundId(n)
        const names = await x.list(`rounds/${id}`)
        if (!names.length) break
        rounds.push(summarizeRound(id, names))
      }
      return { rounds }
    } finally {
      await x.close()
    }
  } catch (err) {
    if (!MiradorError.is(err, 'FEDERATION_EXCHANGE')) throw err
    return { rounds: null, unknown: options.offline ? 'unknown (offline)' : `unknown (${err.message})` }
  }
}
