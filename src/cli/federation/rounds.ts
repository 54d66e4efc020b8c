/**
 * What `federation status` says about the rounds on a group's exchange, from the file names alone
 * (`rounds/<round>/…`, docs/federation.md): how far each round went and how many members posted at
 * each step. Nothing is opened or verified here (`federation verify` does that).
 */
import { MiradorError } from '../../engine/errors.js'
import { createExchange, type ExchangeOptions } from '../../plugins/federation/exchange/index.js'
import { parseMemberFile } from '../../plugins/federation/round/layout.js'
import { listRounds, roundFiles } from '../../plugins/federation/round/index.js'

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

export function summarizeRound(round: string, names: readonly string[]): RoundSummary {
  const has = (step: string) => names.includes(`${step}.json`)
  const files = [...STEPS, 'failed'].filter(has)
  const reached = STEPS.filter(has).at(-1)
  const count = (kind: string) => names.filter((n) => parseMemberFile(n)?.kind === kind).length
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
      const rounds: RoundSummary[] = []
      for (const id of await listRounds(x)) rounds.push(summarizeRound(id, await x.list(roundFiles(id).dir)))
      return { rounds }
    } finally {
      await x.close()
    }
  } catch (err) {
    if (!MiradorError.is(err, 'FEDERATION_EXCHANGE')) throw err
    return { rounds: null, unknown: options.offline ? 'unknown (offline)' : `unknown (${err.message})` }
  }
}
