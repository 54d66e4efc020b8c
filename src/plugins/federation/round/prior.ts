/**
 * prior.json: the average of the newest opened rounds' totals within the group's budget window, in
 * the form the learner's community prior reads (docs/federation.md, "Rounds" and "The community
 * prior"): the vocabulary, the totals in vector order and the standard deviation of the noise each
 * slot of the average carries.
 *
 * Members contribute their cumulative counts every round, so the rounds of one window measure the
 * same thing with independent noise: their average keeps the signal and divides the noise's sd by
 * √R. It costs no privacy beyond what those rounds already spent (each spent its ε from every
 * member's budget when the member contributed).
 */
import { writeFileAtomic } from '../../../lib/atomic-write.js'
import { ensurePrivateDir } from '../../../lib/crypto.js'
import type { Mechanism } from '../dp.js'
import type { Group } from '../group.js'
import { federationPaths } from '../paths.js'
import { sumNoiseSd } from './params.js'
import type { RoundView } from './types.js'

/** At most this many rounds are averaged: past it the noise's sd shrinks little (1/√8 already). */
export const PRIOR_ROUNDS = 8
const DAY = 86_400_000

export interface Prior {
  v: 1
  group: string
  /** the newest round averaged (the prior of one round: that round) */
  round: string
  /** every round averaged, oldest first */
  rounds: string[]
  /** when the newest result was signed */
  opened: string
  /** how many contributions a total sums, on average over the rounds */
  members: number
  vocabulary: { queryTypes: string[]; chains: string[] }
  /** the average of the rounds' totals: [positive, negative] per (type, chain), in vocabulary order */
  totals: number[]
  /** sd: of the noise in each slot of the average, √(Σ sd_i²) / R; epsilon: the newest round's */
  noise: { mechanism: Mechanism; epsilon: number; sd: number }
}

interface RoundTotal {
  round: string
  opened: string
  members: number
  vocabulary: { queryTypes: string[]; chains: string[] }
  totals: number[]
  mechanism: Mechanism
  epsilon: number
  sd: number
}

/** One round with a verified result: its total and the sd of the noise in each of its slots. */
export function roundTotal(view: RoundView): RoundTotal | undefined {
  const { result, open, closedMask } = view
  if (!result || !open || !closedMask || !Array.isArray(result.total)) return undefined
  const params = closedMask.body.survivors.flatMap((id) => {
    const b = view.bundles.get(id)
    return b ? [b.bundle.params] : []
  })
  return {
    round: view.round,
    opened: result.created,
    members: result.commitments.length,
    vocabulary: open.body.vocabulary,
    totals: result.total as number[],
    mechanism: open.body.params.mechanism,
    epsilon: open.body.params.epsilon,
    sd: sumNoiseSd(params),
  }
}

/**
 * The window of rounds averaged with `newest`: those opened within the group's period_days (the
 * window the budget counts) before it opened. Anchored on the newest round, not on today, so every
 * member pulling gets the same prior.
 */
export const openedAt = (v: RoundView): number => Date.parse(v.open?.created ?? '')
export const windowStart = (group: Group, newest: RoundView): number => openedAt(newest) - group.policy.periodDays * DAY

/** Totals of another vocabulary would be averaged into the wrong slots. */
export const sameVocabulary = (a: RoundView, b: RoundView): boolean =>
  JSON.stringify(a.open?.body.vocabulary) === JSON.stringify(b.open?.body.vocabulary)

/** The prior of verified rounds of one window and vocabulary, newest first (pull chooses them). */
export function priorOf(group: Group, views: readonly RoundView[]): Prior | undefined {
  const all = views.flatMap((v) => roundTotal(v) ?? []).slice(0, PRIOR_ROUNDS)
  const newest = all[0]
  if (!newest) return undefined
  const parts = all.filter((p) => JSON.stringify(p.vocabulary) === JSON.stringify(newest.vocabulary))
  const r = parts.length
  const round3 = (x: number, k = 1000) => Math.round(x * k) / k
  return {
    v: 1,
    group: group.group,
    round: newest.round,
    rounds: parts.map((p) => p.round).reverse(),
    opened: newest.opened,
    members: round3(parts.reduce((s, p) => s + p.members, 0) / r, 10),
    vocabulary: newest.vocabulary,
    totals: newest.totals.map((_, k) => parts.reduce((s, p) => s + p.totals[k]!, 0) / r),
    noise: {
      mechanism: newest.mechanism,
      epsilon: newest.epsilon,
      sd: round3(Math.sqrt(parts.reduce((s, p) => s + p.sd * p.sd, 0)) / r),
    },
  }
}

export async function writePrior(home: string, prior: Prior): Promise<string> {
  const file = federationPaths(home).prior
  await ensurePrivateDir(federationPaths(home).dir)
  await writeFileAtomic(file, JSON.stringify(prior, null, 2) + '\n', 0o600)
  return file
}
