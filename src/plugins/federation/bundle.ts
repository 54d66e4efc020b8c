/**
 * A bundle: one member's contribution to one round, as it is written to the exchange.
 *
 *     { v: 1, group, round, member, created, params, payload, signature }
 *
 * `params` are the privacy parameters of its noise (dp.ts); `payload` is opaque here (the masked
 * vector and shares of secure aggregation, any JSON value). The signature is Ed25519 (node:crypto,
 * no digest algorithm: Ed25519 hashes itself) over the canonical JSON (canonical.ts) of every other
 * field, by the member's signing key listed in the group file. The bundle's commitment is the
 * sha256 (hex) of the canonical JSON of the whole signed bundle: what a round's result lists and
 * its Merkle tree (merkle.ts) is built over.
 *
 * `verifyBundle` checks, in this order, and rejects with the first reason that applies:
 * malformed (not a bundle), unsigned, foreign (its member is not in the group file), bad-signature
 * (signed by another key, or changed after signing: any field, payload or params), out-of-round
 * (another group or round than the one being collected), bad-params (privacy parameters outside
 * the limits or inconsistent), replay (a commitment already seen), duplicate (a second bundle from
 * a member in the round).
 */
import { createHash, type KeyObject } from 'node:crypto'
import { MiradorError } from '../../engine/errors.js'
import { canonicalJson, type JsonValue } from './canonical.js'
import { privacyParams, type PrivacyParams } from './dp.js'
import { signEd25519, verifiesEd25519 } from './keys.js'

export const BUNDLE_VERSION = 1

export interface Bundle {
  v: typeof BUNDLE_VERSION
  group: string
  round: string
  member: string
  /** ISO 8601 time of signing */
  created: string
  params: PrivacyParams
  payload: JsonValue
  /** base64 Ed25519 signature over the canonical JSON of the other fields */
  signature?: string
}

/** Who may sign: the group file's name and members fit it as they are. */
export interface Roster {
  group: string
  members: readonly { id: string; signing_key: string }[]
}

export type RejectReason =
  | 'malformed'
  | 'unsigned'
  | 'foreign'
  | 'bad-signature'
  | 'out-of-round'
  | 'bad-params'
  | 'replay'
  | 'duplicate'

export type Verdict = { ok: true; commitment: string } | { ok: false; reason: RejectReason; message: string }

/** What a round has accepted so far; `verifyBundle` adds to it. */
export interface Seen {
  commitments: Set<string>
  members: Set<string>
}

export const newSeen = (): Seen => ({ commitments: new Set(), members: new Set() })

export interface BundleInput {
  group: string
  round: string
  member: string
  params: PrivacyParams
  payload: JsonValue
  /** defaults to now */
  created?: Date
}

/** The bytes a bundle's signature covers. */
export function signedBytes(b: Omit<Bundle, 'signature'> & { signature?: string }): Buffer {
  const { signature: _s, ...rest } = b
  return Buffer.from(canonicalJson(rest), 'utf8')
}

/** A bundle signed with the member's Ed25519 private key. */
export function makeBundle(input: BundleInput, signingKey: KeyObject): Bundle {
  const unsigned: Bundle = {
    v: BUNDLE_VERSION,
    group: input.group,
    round: input.round,
    member: input.member,
    created: (input.created ?? new Date()).toISOString(),
    params: privacyParams(input.params),
    payload: input.payload,
  }
  return { ...unsigned, signature: signEd25519(signedBytes(unsigned), signingKey) }
}

/** sha256 (hex) of the canonical JSON of the signed bundle. */
export function commitmentOf(b: Bundle): string {
  return createHash('sha256').update(canonicalJson(b), 'utf8').digest('hex')
}

const isStr = (x: unknown): x is string => typeof x === 'string' && x.length > 0

function shapeProblem(x: unknown): string | undefined {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return 'not a JSON object'
  const b = x as Record<string, unknown>
  if (b.v !== BUNDLE_VERSION) return `version ${JSON.stringify(b.v)} is not ${BUNDLE_VERSION}`
  const keys = ['v', 'group', 'round', 'member', 'created', 'params', 'payload', 'signature']
  const extra = Object.keys(b).filter((k) => !keys.includes(k))
  if (extra.length) return `unknown fields ${extra.join(', ')}`
  for (const k of ['group', 'round', 'member', 'created'] as const) if (!isStr(b[k])) return `no ${k}`
  const p = b.params as Record<string, unknown> | undefined
  if (!p || typeof p !== 'object') return 'no params'
  if (b.payload === undefined) return 'no payload'
  try {
    canonicalJson(b.payload)
  } catch (err) {
    return MiradorError.from(err).message
  }
  return undefined
}

const reject = (reason: RejectReason, message: string): Verdict => ({ ok: false, reason, message })

/** Checks a bundle for `round` of `roster`'s group (see the file's comment); accepted ones are added to `seen`. */
export function verifyBundle(bundle: unknown, roster: Roster, round: string, seen: Seen): Verdict {
  const problem = shapeProblem(bundle)
  if (problem) return reject('malformed', `not a bundle: ${problem}`)
  const b = bundle as Bundle
  if (!isStr(b.signature)) return reject('unsigned', `the bundle of ${b.member} is not signed`)
  const member = roster.members.find((m) => m.id === b.member)
  if (!member) return reject('foreign', `${b.member} is not a member of ${roster.group} (not in the group file)`)
  if (!verifiesEd25519(signedBytes(b), b.signature, member.signing_key))
    return reject(
      'bad-signature',
      `the bundle of ${b.member} does not verify with ${b.member}'s key: ` +
        'it was changed after signing, or signed by another key',
    )
  if (b.group !== roster.group || b.round !== round)
    return reject(
      'out-of-round',
      `the bundle of ${b.member} is for ${b.group} round ${b.round}, not ${roster.group} round ${round}`,
    )
  try {
    const p = privacyParams(b.params)
    if (canonicalJson(p) !== canonicalJson(b.params)) throw new MiradorError('FEDERATION_PARAMS', 'inconsistent')
  } catch (err) {
    return reject(
      'bad-params',
      `the bundle of ${b.member} states invalid privacy parameters (${MiradorError.from(err).message})`,
    )
  }
  const commitment = commitmentOf(b)
  if (seen.commitments.has(commitment))
    return reject('replay', `the bundle ${commitment.slice(0, 12)}… of ${b.member} was already counted (a replay)`)
  if (seen.members.has(b.member))
    return reject('duplicate', `${b.member} already contributed a bundle to round ${round}; only the first counts`)
  seen.commitments.add(commitment)
  seen.members.add(b.member)
  return { ok: true, commitment }
}

/** As verifyBundle, but throws FEDERATION_BUNDLE (with the reason in details) on a rejection. */
export function assertBundle(bundle: unknown, roster: Roster, round: string, seen: Seen): string {
  const v = verifyBundle(bundle, roster, round, seen)
  if (!v.ok) throw new MiradorError('FEDERATION_BUNDLE', v.message, { details: { reason: v.reason } })
  return v.commitment
}
