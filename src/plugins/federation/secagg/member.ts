/**
 * A member's side of a round (Bonawitz et al., CCS 2017, with double masking):
 *
 *   1. shareSecrets: make a round mask key pair s and a self-mask seed b, split both with Shamir
 *      (t of n) and publish a Commit holding s's public key and one encrypted share per member.
 *   2. maskVector: y = x + PRG(b) + Σ±PRG(s_uv) over every other committed member v (+ when u < v,
 *      − otherwise), so the pairwise masks cancel in the sum.
 *   3. revealShares: once the aggregator names survivors and dropped members, reveal the b-share of
 *      each survivor and the s-share of each dropped member, never both kinds for one member.
 */
import { randomBytes } from 'node:crypto'
import { addInto, expandMask, pairSeed, roundSalt, selfCommitment, selfSeed } from './derive.js'
import { DEFAULT_SCALE, checkScale, encodeVector } from './fixed-point.js'
import { agree, newKeyPair, privateKeyFromRaw } from './keys.js'
import { split } from './shamir.js'
import { openShare, sealShare } from './share-box.js'
import { checkHeader, checkThreshold, roundError, sameIds, sortIds } from './checks.js'
import type { Commit, MaskedVector, MemberState, Peer, Reveal, RevealedShare, SharePlain } from './types.js'
import { b64, b64ToField, bytesToBig, fieldToB64, packVector, unb64 } from './wire.js'

export interface ShareSecretsInput {
  group: string
  round: string
  me: { id: string; privateKey: string }
  /** every other member of the group, with its long-term public key */
  peers: readonly Peer[]
  threshold: number
  scale?: number
}

export function shareSecrets(input: ShareSecretsInput): { commit: Commit; state: MemberState } {
  const { group, round, me, peers, threshold } = input
  const scale = input.scale ?? DEFAULT_SCALE
  checkScale(scale)
  const ids = sortIds([me.id, ...peers.map((p) => p.id)])
  if (new Set(ids).size !== ids.length) throw roundError('a member id appears twice among the peers')
  checkThreshold(threshold, ids.length)
  const publicKeys = new Map(peers.map((p) => [p.id, p.publicKey]))
  const members: MemberState['members'] = {}
  ids.forEach((id, i) => (members[id] = { x: i + 1, publicKey: publicKeys.get(id) ?? '' }))

  const salt = roundSalt(group, round)
  const mask = newKeyPair()
  const selfSecret = randomBytes(32)
  const xs = ids.map((id) => members[id]!.x)
  const selfShares = split(bytesToBig(selfSecret), xs, threshold)
  const maskShares = split(bytesToBig(unb64(mask.privateKey, 'mask key', 32)), xs, threshold)
  const myPrivate = privateKeyFromRaw(unb64(me.privateKey, 'the member private key', 32))
  const ctx = { group, round, salt }
  const shares: Commit['shares'] = {}
  let own: SharePlain | undefined
  ids.forEach((id, i) => {
    const plain: SharePlain = { x: xs[i]!, self: fieldToB64(selfShares[i]!.y), mask: fieldToB64(maskShares[i]!.y) }
    if (id === me.id) own = plain
    else shares[id] = sealShare(ctx, me.id, myPrivate, { id, publicKey: members[id]!.publicKey }, jsonBytes(plain))
  })
  const commit: Commit = {
    v: 1,
    group,
    round,
    member: me.id,
    threshold,
    maskPublicKey: mask.publicKey,
    selfCommitment: selfCommitment(selfSecret, salt, me.id),
    shares,
  }
  const state: MemberState = {
    v: 1,
    group,
    round,
    me: me.id,
    threshold,
    scale,
    members,
    maskPrivateKey: mask.privateKey,
    maskPublicKey: mask.publicKey,
    selfSecret: b64(selfSecret),
    ownShare: own!,
    revealed: {},
  }
  return { commit, state }
}

const jsonBytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v))

/** The commits of the round that this member accepts: valid, from group members, one each. */
function acceptedCommits(state: MemberState, commits: readonly Commit[]): Map<string, Commit> {
  const byId = new Map<string, Commit>()
  for (const c of commits) {
    checkHeader(c, state.group, state.round, `the commit of ${String(c.member)}`)
    if (!(c.member in state.members)) throw roundError(`${c.member} committed but is not a member of the group`)
    if (byId.has(c.member)) throw roundError(`${c.member} committed twice`)
    if (typeof c.shares !== 'object' || c.shares === null || typeof c.maskPublicKey !== 'string') {
      throw roundError(`the commit of ${c.member} has no mask public key or shares`)
    }
    if (c.threshold !== state.threshold) {
      throw roundError(`${c.member} committed with threshold ${c.threshold}, not ${state.threshold}`)
    }
    byId.set(c.member, c)
  }
  const mine = byId.get(state.me)
  if (!mine || mine.maskPublicKey !== state.maskPublicKey) {
    throw roundError(`the commits do not hold this member's (${state.me}) own commit`)
  }
  if (byId.size < state.threshold) {
    throw roundError(`only ${byId.size} members committed, fewer than the threshold ${state.threshold}`)
  }
  return byId
}

/** Phase 2: the masked vector, against every member that committed (the aggregator's list of commits). */
export function maskVector(
  values: readonly number[],
  state: MemberState,
  commits: readonly Commit[],
): { masked: MaskedVector; state: MemberState } {
  const byId = acceptedCommits(state, commits)
  if (state.committed) throw roundError(`${state.me} already masked a vector in round ${state.round}`)
  const committed = sortIds(byId.keys())
  const y = encodeVector(values, committed.length, state.scale)
  const salt = roundSalt(state.group, state.round)
  addInto(y, expandMask(selfSeed(unb64(state.selfSecret, 'self secret', 32), salt, state.me), y.length), 1)
  const maskPrivate = privateKeyFromRaw(unb64(state.maskPrivateKey, 'mask key', 32))
  for (const v of committed) {
    if (v === state.me) continue
    const secret = agree(maskPrivate, byId.get(v)!.maskPublicKey, `the mask public key of ${v}`)
    addInto(y, expandMask(pairSeed(secret, salt, state.me, v), y.length), state.me < v ? 1 : -1)
  }
  const masked: MaskedVector = {
    v: 1,
    group: state.group,
    round: state.round,
    member: state.me,
    scale: state.scale,
    committed,
    values: packVector(y),
  }
  return { masked, state: { ...state, committed } }
}

export interface RevealInput {
  survivors: readonly string[]
  dropped: readonly string[]
}

/**
 * Phase 3: decrypt the shares addressed to this member and reveal, for each survivor its self-mask
 * share, for each dropped member its mask-key share. Refuses lists that do not split the committed
 * members exactly, that name this member as dropped, or that would reveal the other secret of a
 * member already revealed (a late vector of a "dropped" member would then open).
 */
export function revealShares(
  state: MemberState,
  myPrivateKey: string,
  commits: readonly Commit[],
  lists: RevealInput,
): { reveal: Reveal; state: MemberState } {
  if (!state.committed)
    throw roundError(`${state.me} has not masked a vector in round ${state.round}: nothing to reveal`)
  const survivors = sortIds(lists.survivors)
  const dropped = sortIds(lists.dropped)
  if (!sameIds(sortIds([...survivors, ...dropped]), state.committed) || new Set(survivors).size !== survivors.length) {
    throw roundError(
      `the survivors and dropped members given do not split the ${state.committed.length} committed members`,
    )
  }
  if (!survivors.includes(state.me)) throw roundError(`${state.me} is listed as dropped: it reveals nothing`)
  if (survivors.length < state.threshold) {
    throw roundError(
      `only ${survivors.length} survivors, fewer than the threshold ${state.threshold}: the round cannot open`,
    )
  }
  const wanted = new Map<string, 'self' | 'mask'>([
    ...survivors.map((id) => [id, 'self'] as const),
    ...dropped.map((id) => [id, 'mask'] as const),
  ])
  for (const [id, kind] of wanted) {
    if (state.revealed[id] !== undefined && state.revealed[id] !== kind) {
      throw roundError(
        `refused: ${state.me} already revealed the ${state.revealed[id]} secret of ${id}; revealing its ${kind} ` +
          'secret too would unmask its vector',
        { member: id },
      )
    }
  }
  const byId = acceptedCommits(state, commits)
  const ctx = { group: state.group, round: state.round, salt: roundSalt(state.group, state.round) }
  const myPrivate = privateKeyFromRaw(unb64(myPrivateKey, 'the member private key', 32))
  const shares: RevealedShare[] = []
  const revealed = { ...state.revealed }
  for (const [id, kind] of wanted) {
    let plain: SharePlain
    if (id === state.me) plain = state.ownShare
    else {
      const box = byId.get(id)?.shares[state.me]
      if (!box || box.from !== id || box.to !== state.me) throw roundError(`${id} sent no share to ${state.me}`)
      plain = parseShare(openShare(ctx, box, state.me, myPrivate, state.members[id]!.publicKey), id)
    }
    shares.push({ of: id, kind, x: plain.x, y: kind === 'self' ? plain.self : plain.mask })
    revealed[id] = kind
  }
  const reveal: Reveal = { v: 1, group: state.group, round: state.round, member: state.me, survivors, dropped, shares }
  return { reveal, state: { ...state, revealed } }
}

function parseShare(buf: Buffer, from: string): SharePlain {
  const what = `the share from ${from}`
  try {
    const p = JSON.parse(buf.toString('utf8')) as SharePlain
    b64ToField(p.self, what)
    b64ToField(p.mask, what)
    if (!Number.isInteger(p.x)) throw new Error('no x')
    return p
  } catch (err) {
    throw roundError(`${what} decrypts but is not a share`, { cause: String(err) })
  }
}
