/**
 * A round's terms from the group file: its roster, threshold, noise and deadlines; and the noise an
 * opened sum carries (prior.json's `noise.sd`).
 */
import { createHash } from 'node:crypto'
import { MiradorError } from '../../../engine/errors.js'
import { noiseScale, roundParams, type PrivacyParams } from '../dp.js'
import type { Group } from '../group.js'
import { publicKeyFrom, rawPublicKey } from '../keys.js'
import { DEFAULT_SCALE } from '../secagg/index.js'
import type { OpenBody, RosterEntry } from './types.js'

export const DEFAULT_ROUND_HOURS = 24
const HOUR = 3_600_000

const fingerprint = (b64: string, kind: 'ed25519' | 'x25519'): string =>
  createHash('sha256')
    .update(Buffer.from(rawPublicKey(publicKeyFrom(b64, kind)), 'base64'))
    .digest('hex')
    .slice(0, 16)

export function rosterOf(group: Group): RosterEntry[] {
  return group.value.members
    .map((m) => ({
      id: m.id,
      signing: fingerprint(m.signing_key, 'ed25519'),
      agreement: fingerprint(m.agreement_key, 'x25519'),
    }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/** The group file's threshold is a minimum: secure aggregation needs more than half the roster. */
export function roundThreshold(group: Group, members: number): number {
  return Math.max(group.value.threshold, Math.floor(members / 2) + 1)
}

export function roundHours(group: Group): number {
  return group.value.round_hours ?? DEFAULT_ROUND_HOURS
}

/** A value this far beyond the clip (in noise standard deviations) is never drawn: Laplace odds e^(−50√2). */
const NOISE_SDS = 50

/**
 * The fixed-point scale of a round: the finest power of two up to DEFAULT_SCALE at which the sum of
 * n contributions (each within clip + 50 sd of its noise) cannot leave the 32-bit range that secure
 * aggregation sums in. A large group with a small ε gets a coarser scale rather than a refused mask.
 */
export function roundScale(members: number, params: PrivacyParams): number {
  const largest = params.clip + NOISE_SDS * Math.sqrt(contributionVariance(params))
  const fits = (2 ** 31 - 1) / (members * largest)
  if (fits < 1)
    throw new MiradorError(
      'FEDERATION_RANGE',
      `${members} members with noise of this size (ε ${params.epsilon}) could overflow the sum; use a larger ε`,
    )
  return Math.min(DEFAULT_SCALE, 2 ** Math.floor(Math.log2(fits)))
}

/** open.json's body for a round opened now. */
export function openTerms(group: Group, now: Date): OpenBody {
  const roster = rosterOf(group)
  if (roster.length < 2)
    throw new MiradorError(
      'FEDERATION_ROUND',
      `${group.group} has ${roster.length} member: a round needs at least 2; ask others to join first`,
    )
  const t = roundThreshold(group, roster.length)
  const h = roundHours(group) * HOUR
  const at = (k: number) => new Date(now.getTime() + k * h).toISOString()
  const params = roundParams(group, t)
  return {
    roster,
    t,
    params,
    scale: roundScale(roster.length, params),
    vocabulary: { queryTypes: [...group.vocabulary.queryTypes], chains: [...group.vocabulary.chains] },
    commit_until: at(1),
    mask_until: at(2),
    reveal_until: at(3),
  }
}

/** The variance of one contribution's noise in one slot (its share of the guarantee's). */
export function contributionVariance(p: PrivacyParams): number {
  const s = noiseScale(p)
  return (p.mechanism === 'laplace' ? 2 * s * s : s * s) / p.shares
}

/** The standard deviation of the noise in each slot of a sum of these contributions. */
export function sumNoiseSd(params: readonly PrivacyParams[]): number {
  return Math.sqrt(params.reduce((s, p) => s + contributionVariance(p), 0))
}
