/**
 * X25519 key pairs as raw 32-byte values (base64 in files), and the Diffie-Hellman agreement.
 * node:crypto takes keys as KeyObjects; raw bytes are wrapped in their fixed DER prefixes
 * (RFC 8410), which needs no JWK round trip and rejects a wrong length up front.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { MiradorError } from '../../../engine/errors.js'
import { b64, unb64 } from './wire.js'

const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex')

/** A member's long-term agreement key pair: the public half goes in the group file. */
export interface KeyPair {
  publicKey: string
  privateKey: string
}

export function newKeyPair(): KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('x25519')
  const pub = publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length)
  const priv = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length)
  return { publicKey: b64(pub), privateKey: b64(priv) }
}

/** The long-term X25519 pair of a member, which encrypts the secret shares sent to it. */
export const newMemberKeys = newKeyPair

export function privateKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: 'der', type: 'pkcs8' })
}

function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
}

export function publicOf(privateRaw: Uint8Array): string {
  const pub = createPublicKey(privateKeyFromRaw(privateRaw)).export({ format: 'der', type: 'spki' })
  return b64(pub.subarray(SPKI_PREFIX.length))
}

/**
 * The X25519 shared secret of a private key (raw bytes, or a KeyObject made once by a caller that
 * agrees with every member) and a public key (base64).
 */
export function agree(privateKey: Uint8Array | KeyObject, publicB64: string, what: string): Buffer {
  const pub = unb64(publicB64, what, 32)
  const priv = privateKey instanceof Uint8Array ? privateKeyFromRaw(privateKey) : privateKey
  try {
    return diffieHellman({ privateKey: priv, publicKey: publicKeyFromRaw(pub) })
  } catch (err) {
    // a low-order public key gives an all-zero secret, which node refuses
    throw new MiradorError('FEDERATION_ROUND', `${what} is not a usable X25519 public key`, { cause: err })
  }
}
