/** What every round step needs: who this member is, its keys, the group and the exchange. */
import { MiradorError } from '../../../engine/errors.js'
import type { Exchange } from '../exchange/index.js'
import type { Group } from '../group.js'
import type { MemberKeys } from '../member-keys.js'
import { publicKeyFrom, rawPublicKey } from '../keys.js'
import { encode } from './envelope.js'

export interface RoundContext {
  /** $MIRADOR_HOME: where this member's round secrets are kept */
  home: string
  group: Group
  /** this member's id in the group file */
  member: string
  keys: MemberKeys
  exchange: Exchange
  /** the clock (tests move it) */
  now?: () => Date
}

export const nowOf = (ctx: RoundContext): Date => ctx.now?.() ?? new Date()

/** This member's X25519 private key as secure aggregation takes it: base64 of the raw 32 bytes. */
export function agreementSecret(ctx: RoundContext): string {
  const d = ctx.keys.agreement.privateKey.export({ format: 'jwk' }).d
  if (typeof d !== 'string') throw new MiradorError('FEDERATION_KEYS', 'the agreement key is not an X25519 private key')
  return Buffer.from(d, 'base64url').toString('base64')
}

/** base64 of a raw X25519 public key, whichever form the group file lists it in. */
export const rawAgreementKey = (b64: string): string => rawPublicKey(publicKeyFrom(b64, 'x25519'))

/**
 * Posts a create-only file. False when another member's file already holds the name (a closing
 * someone else wrote first, which the caller then reads); other failures are thrown.
 */
export async function post(ctx: RoundContext, file: string, value: unknown): Promise<boolean> {
  try {
    await ctx.exchange.put(file, encode(value))
    return true
  } catch (err) {
    if (MiradorError.is(err) && err.code === 'FEDERATION_EXCHANGE' && (await ctx.exchange.get(file)) !== undefined)
      return false
    throw err
  }
}
