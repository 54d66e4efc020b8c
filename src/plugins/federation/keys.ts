/**
 * Federation public keys as the group file writes them: base64 of the raw 32-byte key (Ed25519 for
 * signing, X25519 for key agreement), or base64 of its DER SubjectPublicKeyInfo (what
 * `openssl pkey -pubout -outform DER` gives). Both read into node:crypto KeyObjects.
 */
import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import { MiradorError } from '../../engine/errors.js'

export type KeyKind = 'ed25519' | 'x25519'

const RAW_LENGTH = 32

/** The KeyObject of a base64 public key of this kind; FEDERATION_KEYS when it is not one. */
export function publicKeyFrom(b64: string, kind: KeyKind): KeyObject {
  const der = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? Buffer.from(b64, 'base64') : Buffer.alloc(0)
  let key: KeyObject
  try {
    key =
      der.length === RAW_LENGTH
        ? createPublicKey({
            key: { kty: 'OKP', crv: kind === 'ed25519' ? 'Ed25519' : 'X25519', x: der.toString('base64url') },
            format: 'jwk',
          })
        : createPublicKey({ key: der, format: 'der', type: 'spki' })
  } catch (cause) {
    throw new MiradorError('FEDERATION_KEYS', `not a base64 ${kind} public key (raw 32 bytes or SPKI DER)`, { cause })
  }
  if (key.asymmetricKeyType !== kind)
    throw new MiradorError(
      'FEDERATION_KEYS',
      `a ${key.asymmetricKeyType ?? 'unknown'} key where an ${kind} key belongs`,
    )
  return key
}

/** base64 of a public key's raw 32 bytes (the form the group file is written with). */
export function rawPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' })
  if (typeof jwk.x !== 'string') throw new MiradorError('INTERNAL', 'not an OKP public key')
  return Buffer.from(jwk.x, 'base64url').toString('base64')
}

/** base64 of the Ed25519 signature of `bytes` with a member's private signing key. */
export function signEd25519(bytes: Buffer, key: KeyObject): string {
  return sign(null, bytes, key).toString('base64')
}

/**
 * Whether `signature` (base64) is the Ed25519 signature of `bytes` by `publicKey` (a signing key as
 * the group file writes it); false for anything malformed, never a throw: bundles, round files and
 * results all reject a bad signature with their own reason.
 */
export function verifiesEd25519(bytes: Buffer, signature: string, publicKey: string): boolean {
  try {
    const sig = Buffer.from(signature, 'base64')
    return sig.length === 64 && verify(null, bytes, publicKeyFrom(publicKey, 'ed25519'), sig)
  } catch {
    return false
  }
}
