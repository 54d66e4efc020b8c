/**
 * The signed envelope of a round's files other than bundles (open, commit, commits, survivors,
 * reveal, failed): the same scheme as bundle.ts, Ed25519 over the canonical JSON of every field but
 * `signature`, by the author's signing key from the group file.
 *
 *     { v: 1, kind, group, round, author, created, body, signature }
 *
 * A file is checked against the round's roster and rejected with bundle.ts's reasons, in the same
 * order: malformed (not an envelope, or of another kind than its name says), unsigned, foreign
 * (its author is not on the roster), bad-signature (changed after signing, signed by another key,
 * or a member file signed by someone else than the member it names), out-of-round (signed for
 * another group or round: a file copied from an earlier round).
 */
import type { KeyObject } from 'node:crypto'
import type { RejectReason, Roster } from '../bundle.js'
import { canonicalJson, type JsonValue } from '../canonical.js'
import { signEd25519, verifiesEd25519 } from '../keys.js'

export type EnvelopeKind = 'open' | 'commit' | 'commits' | 'survivors' | 'reveal' | 'failed'

export interface Envelope<B = JsonValue> {
  v: 1
  kind: EnvelopeKind
  group: string
  round: string
  author: string
  created: string
  body: B
  signature?: string
}

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: RejectReason; message: string }

const FIELDS = ['v', 'kind', 'group', 'round', 'author', 'created', 'body', 'signature']

const bytesOf = (e: Envelope<unknown>): Buffer => {
  const { signature: _s, ...rest } = e
  return Buffer.from(canonicalJson(rest), 'utf8')
}

export function makeEnvelope<B>(
  fields: { kind: EnvelopeKind; group: string; round: string; author: string; body: B; created?: Date },
  signingKey: KeyObject,
): Envelope<B> {
  const unsigned: Envelope<B> = {
    v: 1,
    kind: fields.kind,
    group: fields.group,
    round: fields.round,
    author: fields.author,
    created: (fields.created ?? new Date()).toISOString(),
    body: fields.body,
  }
  return { ...unsigned, signature: signEd25519(bytesOf(unsigned), signingKey) }
}

export const encode = (value: unknown): Uint8Array => Buffer.from(canonicalJson(value) + '\n', 'utf8')

/** JSON text → value, or undefined when it does not parse. */
export function decode(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown
  } catch {
    return undefined
  }
}

const fail = <T>(reason: RejectReason, message: string): Checked<T> => ({ ok: false, reason, message })

/**
 * Checks an envelope of `kind` for `round`, signed by a member of `roster` (and by `member` when
 * the file names one). The body's shape is the caller's to check.
 */
export function checkEnvelope(
  x: unknown,
  kind: EnvelopeKind,
  roster: Roster,
  round: string,
  member?: string,
): Checked<Envelope> {
  if (!x || typeof x !== 'object' || Array.isArray(x)) return fail('malformed', 'not a JSON object')
  const e = x as Record<string, unknown>
  const extra = Object.keys(e).filter((k) => !FIELDS.includes(k))
  if (e.v !== 1 || extra.length || e.body === undefined)
    return fail(
      'malformed',
      `not a version-1 signed file${extra.length ? ` (unknown fields ${extra.join(', ')})` : ''}`,
    )
  for (const k of ['group', 'round', 'author', 'created'] as const)
    if (typeof e[k] !== 'string' || !e[k]) return fail('malformed', `no ${k}`)
  if (e.kind !== kind) return fail('malformed', `a ${String(e.kind)} file where a ${kind} file belongs`)
  const env = x as Envelope
  if (typeof env.signature !== 'string' || !env.signature) return fail('unsigned', `not signed by ${env.author}`)
  const signer = roster.members.find((m) => m.id === env.author)
  if (!signer) return fail('foreign', `${env.author} is not on the roster of ${roster.group} round ${round}`)
  if (!verifiesEd25519(bytesOf(env), env.signature, signer.signing_key))
    return fail(
      'bad-signature',
      `it does not verify with ${env.author}'s key: it was changed after signing, or signed by another key`,
    )
  if (member !== undefined && env.author !== member)
    return fail('bad-signature', `it is ${member}'s file but signed by ${env.author}`)
  if (env.group !== roster.group || env.round !== round)
    return fail('out-of-round', `it is for ${env.group} round ${env.round}, not ${roster.group} round ${round}`)
  return { ok: true, value: env }
}
