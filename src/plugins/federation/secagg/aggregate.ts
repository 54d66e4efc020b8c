/**
 * Opening a round: sum the survivors' masked vectors, reconstruct each survivor's self-mask seed and
 * each dropped member's mask key from t revealed shares, and remove those masks. Anyone holding the
 * round's files can run it; it is deterministic (sorted ids, the t shares with the smallest x, exact
 * integer arithmetic mod 2^32, exact power-of-two decoding), so every member gets the same bytes.
 */
import { MiradorError } from '../../../engine/errors.js'
import { checkHeader, checkRevealShares, roundError, sameIds, sortIds } from './checks.js'
import { addInto, expandMask, pairSeed, roundSalt, selfCommitment, selfSeed } from './derive.js'
import { checkScale, decodeVector } from './fixed-point.js'
import { agree, privateKeyFromRaw, publicOf } from './keys.js'
import { combine, type Share } from './shamir.js'
import type { AggregateResult, Commit, MaskedVector, Reveal } from './types.js'
import { b64ToField, bigToBytes, unpackVector } from './wire.js'

export interface AggregateInput {
  group: string
  round: string
  threshold: number
  commits: readonly Commit[]
  masked: readonly MaskedVector[]
  reveals: readonly Reveal[]
}

function indexById<T extends { member: string }>(items: readonly T[], what: string): Map<string, T> {
  const out = new Map<string, T>()
  for (const it of items) {
    if (out.has(it.member)) throw roundError(`two ${what} from ${it.member}`)
    out.set(it.member, it)
  }
  return out
}

export function aggregate(input: AggregateInput): AggregateResult {
  const { group, round, threshold } = input
  for (const c of input.commits) checkHeader(c, group, round, `the commit of ${String(c.member)}`)
  const commits = indexById(input.commits, 'commits')
  const committed = sortIds(commits.keys())
  // members check t against the group size (shareSecrets); the aggregator knows only who committed
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw roundError(`the threshold ${threshold} is not a count`)
  if (committed.length < threshold) {
    throw roundError(`only ${committed.length} members committed, fewer than the threshold ${threshold}`)
  }
  for (const c of commits.values()) {
    if (c.threshold !== threshold)
      throw roundError(`${c.member} committed with threshold ${c.threshold}, not ${threshold}`)
  }

  for (const m of input.masked) checkHeader(m, group, round, `the masked vector of ${String(m.member)}`)
  const masked = indexById(input.masked, 'masked vectors')
  const survivors = sortIds(masked.keys())
  const dropped = committed.filter((id) => !masked.has(id))
  if (survivors.length < threshold) {
    throw roundError(
      `only ${survivors.length} of ${committed.length} committed members sent a masked vector, fewer than the ` +
        `threshold ${threshold}: the round cannot open; start a new round`,
      { survivors, dropped },
    )
  }

  const first = masked.get(survivors[0]!)!
  const scale = first.scale
  checkScale(scale)
  const sum = new Uint32Array(unpackVector(first.values, `the masked vector of ${first.member}`).length)
  for (const id of survivors) {
    const m = masked.get(id)!
    if (!commits.has(id)) throw roundError(`${id} sent a masked vector without committing`)
    if (!sameIds(m.committed, committed)) {
      throw roundError(`${id} masked against other members than the ${committed.length} that committed`, { member: id })
    }
    if (m.scale !== scale) throw roundError(`${id} used scale ${m.scale}, not ${scale}`)
    const y = unpackVector(m.values, `the masked vector of ${id}`)
    if (y.length !== sum.length) throw roundError(`the vector of ${id} has ${y.length} values, not ${sum.length}`)
    addInto(sum, y, 1)
  }

  for (const r of input.reveals) {
    checkHeader(r, group, round, `the reveal of ${String(r.member)}`)
    checkRevealShares(r.shares, r.member)
  }
  const reveals = indexById(input.reveals, 'reveals')
  for (const r of reveals.values()) {
    if (!masked.has(r.member)) throw roundError(`${r.member} revealed shares but is not a survivor`)
    if (!sameIds(r.survivors, survivors) || !sameIds(r.dropped, dropped)) {
      throw roundError(`the reveal of ${r.member} was made for other survivor and dropped lists`, { member: r.member })
    }
  }
  if (reveals.size < threshold) {
    throw roundError(
      `only ${reveals.size} survivors revealed their shares, fewer than the threshold ${threshold}: ` +
        'the sum cannot be unmasked yet',
    )
  }

  const salt = roundSalt(group, round)
  const sharesOf = (id: string, kind: 'self' | 'mask'): Share[] => {
    const out: Share[] = []
    for (const r of reveals.values()) {
      const s = r.shares.find((sh) => sh.of === id && sh.kind === kind)
      if (s) out.push({ x: s.x, y: b64ToField(s.y, `the ${kind} share of ${id} from ${r.member}`) })
    }
    if (out.length < threshold) {
      throw roundError(`only ${out.length} ${kind} shares of ${id} were revealed, fewer than ${threshold}`)
    }
    return out.sort((a, b) => a.x - b.x).slice(0, threshold)
  }
  const mismatch = (id: string, kind: string) =>
    new MiradorError(
      'FEDERATION_SHARE',
      `the revealed ${kind} shares of ${id} do not reconstruct the secret it committed to (a wrong or altered share)`,
      { details: { member: id } },
    )

  for (const id of survivors) {
    const b = bigToBytes(combine(sharesOf(id, 'self')), 32, `the self-mask of ${id}`)
    if (selfCommitment(b, salt, id) !== commits.get(id)!.selfCommitment) throw mismatch(id, 'self-mask')
    addInto(sum, expandMask(selfSeed(b, salt, id), sum.length), -1)
  }
  for (const v of dropped) {
    const sk = bigToBytes(combine(sharesOf(v, 'mask')), 32, `the mask key of ${v}`)
    if (publicOf(sk) !== commits.get(v)!.maskPublicKey) throw mismatch(v, 'mask-key')
    const key = privateKeyFromRaw(sk)
    // each survivor u added sign(u, v)·PRG(s_uv); take those masks back out
    for (const u of survivors) {
      const secret = agree(key, commits.get(u)!.maskPublicKey, `the mask public key of ${u}`)
      addInto(sum, expandMask(pairSeed(secret, salt, u, v), sum.length), u < v ? -1 : 1)
    }
  }
  return { sum: decodeVector(sum, scale), survivors, dropped, scale }
}
