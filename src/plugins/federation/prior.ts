/**
 * The community prior: the average of the newest opened rounds' totals within the group's budget
 * window (`$MIRADOR_HOME/federation/prior.json`, written by `federation pull`) as pseudo-ratings
 * for the learner's Beta posteriors (docs/federation.md, "The community prior"). Per (query type,
 * chain), with P and N the opened positive and negative counts (noised, so clamped at 0), sd the
 * noise's standard deviation per slot, w the pseudo-ratings a fully reliable prior is worth and n
 * the user's own ratings:
 *
 *     m  = (P + 1) / (P + N + 2)              the community's share of good ratings
 *     r  = clamp(1 − 2·sd / (P + N), 0, 1)    how far the counts stand above the noise
 *     W' = w·r · w / (w + n)                  fades as the user rates the chain
 *     α  = W'·m,  β = W'·(1 − m)
 *
 * A prior is worth at most w ratings and fades with the user's own, so the user's ratings always
 * outweigh it. Nothing here is ever sent: it only reads.
 */
import { MiradorError } from '../../engine/errors.js'
import { readTextIfExists } from '../../lib/read-if-exists.js'
import { loadGroupFile } from './group.js'
import { readMembership } from './membership.js'
import { federationPaths } from './paths.js'
import { slotOf, vectorLength, type Vocabulary } from './vocabulary.js'

/**
 * How many of the user's own ratings a fully reliable community prior counts for: enough to point
 * a new member to the group's favourite in the first questions, few enough that a week of the
 * user's own ratings (10 per type) already halves it.
 */
export const DEFAULT_PRIOR_WEIGHT = 10

/** prior.json (docs/federation.md): the average of the newest rounds' opened sums over the group's vocabulary. */
export interface PriorFile {
  v: 1
  group: string
  /** the newest round averaged */
  round: string
  /** every round averaged, oldest first (files written before averaging have only `round`) */
  rounds?: string[]
  opened?: string
  members?: number
  vocabulary: Vocabulary
  /** [positive, negative] per (type, chain), in vocabulary order (vocabulary.ts) */
  totals: number[]
  noise: { mechanism?: string; epsilon?: number; sd: number }
}

export interface CommunityPrior {
  alpha: number
  beta: number
  /** the community's share of good ratings, m */
  share: number
  /** r: 0 when the noise swamps the counts, 1 when they stand well above it */
  reliability: number
}

/** The prior of one (type, chain) from its opened counts (the file's comment has the math). */
export function communityPrior(
  positive: number,
  negative: number,
  sd: number,
  ownRatings: number,
  w = DEFAULT_PRIOR_WEIGHT,
): CommunityPrior {
  const p = Math.max(0, positive)
  const n = Math.max(0, negative)
  const share = (p + 1) / (p + n + 2)
  const reliability = p + n > 0 ? Math.min(1, Math.max(0, 1 - (2 * Math.max(0, sd)) / (p + n))) : 0
  const weight = w > 0 ? w * reliability * (w / (w + Math.max(0, ownRatings))) : 0
  return { alpha: weight * share, beta: weight * (1 - share), share, reliability }
}

/** The prior for `chain` answering `type`, or undefined when either is outside the vocabulary. */
export function priorFor(
  file: PriorFile,
  type: string,
  chain: string,
  ownRatings: number,
  w = DEFAULT_PRIOR_WEIGHT,
): CommunityPrior | undefined {
  const slot = slotOf(file.vocabulary, type, chain)
  if (slot < 0) return undefined
  return communityPrior(file.totals[slot]!, file.totals[slot + 1]!, file.noise.sd, ownRatings, w)
}

const isNames = (x: unknown): x is string[] =>
  Array.isArray(x) && x.length > 0 && x.every((s) => typeof s === 'string' && s.length > 0)

/** Checks prior.json's text; the reason it is refused, in a few words, as a FEDERATION_PRIOR error. */
export function parsePrior(text: string): PriorFile {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw damaged('not JSON')
  }
  const f = value as Partial<PriorFile> | null
  if (!f || typeof f !== 'object') throw damaged('not a JSON object')
  if (f.v !== 1) throw damaged(`version ${JSON.stringify(f.v)}, not 1`)
  if (typeof f.group !== 'string' || typeof f.round !== 'string') throw damaged('no group or round')
  if (f.rounds !== undefined && !isNames(f.rounds)) throw damaged('rounds is not a list of round ids')
  const voc = f.vocabulary
  if (!voc || !isNames(voc.queryTypes) || !isNames(voc.chains)) throw damaged('no vocabulary')
  if (!Array.isArray(f.totals) || !f.totals.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw damaged('totals are not a list of numbers')
  if (f.totals.length !== vectorLength(voc))
    throw damaged(`${f.totals.length} totals for a vocabulary of ${vectorLength(voc)} slots`)
  const sd = f.noise?.sd
  if (typeof sd !== 'number' || !Number.isFinite(sd) || sd < 0) throw damaged('no noise.sd')
  return f as PriorFile
}

function damaged(why: string): MiradorError {
  return new MiradorError('CONFIG_INVALID', why)
}

const sameNames = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x, i) => x === b[i])

export interface LoadedPrior {
  file?: PriorFile
  /** one line for the user when the prior is left out for a reason worth saying */
  warning?: string
}

/**
 * This member's prior, checked against its group file's vocabulary (a prior of an older
 * vocabulary would put counts in the wrong slots). No prior.json: no prior, no warning. A damaged
 * one, or one for another group or vocabulary: no prior and one warning line; never an error.
 */
export async function loadPrior(home: string): Promise<LoadedPrior> {
  const paths = federationPaths(home)
  let text: string | undefined
  try {
    text = await readTextIfExists(paths.prior)
  } catch (err) {
    return { warning: `${left} ${paths.prior} cannot be read (${(err as Error).message})` }
  }
  if (text === undefined) return {}
  let file: PriorFile
  try {
    file = parsePrior(text)
  } catch (err) {
    return { warning: `${left} ${paths.prior} is damaged (${MiradorError.from(err).message}); ${fix}` }
  }
  let vocabulary: Vocabulary
  let group: string
  try {
    const membership = await readMembership(home)
    if (!membership) throw new MiradorError('CONFIG_INVALID', `${paths.membership} names no group file`)
    ;({ vocabulary, group } = await loadGroupFile(membership.groupFile))
  } catch (err) {
    return { warning: `${left} the group file cannot be read: ${MiradorError.from(err).format()}` }
  }
  if (file.group !== group)
    return { warning: `${left} ${paths.prior} is for the group ${file.group}, not ${group}; ${fix}` }
  if (
    !sameNames(file.vocabulary.queryTypes, vocabulary.queryTypes) ||
    !sameNames(file.vocabulary.chains, vocabulary.chains)
  )
    return { warning: `${left} round ${file.round} counted another vocabulary than the group file's; ${fix}` }
  return { file }
}

/** Where a prior comes from, for `ask --explain`: `round 0003 of garden-club`, `rounds 0001–0004 of …`. */
export function priorSource(file: PriorFile): string {
  const rounds = file.rounds ?? [file.round]
  const which = rounds.length > 1 ? `rounds ${rounds[0]}–${rounds.at(-1)}` : `round ${file.round}`
  return `${which} of ${file.group}`
}

const left = 'the community prior is left out:'
const fix = '`mirador federation pull` writes the newest one'
