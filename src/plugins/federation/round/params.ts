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
  return {
    roster,
    t,
    params: roundParams(group, t),
    scale: DEFAULT_SCALE,
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
