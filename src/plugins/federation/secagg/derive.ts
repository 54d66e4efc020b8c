/**
 * Everything derived from a secret is bound to the round: HKDF-SHA256 salts carry the group and
 * round ids, infos the purpose and the members' ids, so no seed or key is ever reused across
 * rounds, groups, pairs or purposes.
 */
import { createCipheriv, createHash, hkdfSync } from 'node:crypto'

const VERSION = 'mirador-secagg-v1'

export function roundSalt(group: string, round: string): Buffer {
  return createHash('sha256')
    .update(JSON.stringify([VERSION, group, round]))
    .digest()
}

function hkdf(ikm: Uint8Array, salt: Buffer, info: unknown[]): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, JSON.stringify([VERSION, ...info]), 32))
}

/** The seed of u and v's pairwise mask: the same whichever of them derives it. */
export function pairSeed(secret: Uint8Array, salt: Buffer, a: string, b: string): Buffer {
  const [lo, hi] = a < b ? [a, b] : [b, a]
  return hkdf(secret, salt, ['pair-mask', lo, hi])
}

export const selfSeed = (b: Uint8Array, salt: Buffer, member: string): Buffer => hkdf(b, salt, ['self-mask', member])

/** The AES-256-GCM key of the shares `from` sends to `to` (direction-bound). */
export const shareKey = (secret: Uint8Array, salt: Buffer, from: string, to: string): Buffer =>
  hkdf(secret, salt, ['share', from, to])

/** A public commitment to a self-mask secret, so a wrong reconstruction is detected. */
export const selfCommitment = (b: Uint8Array, salt: Buffer, member: string): string =>
  createHash('sha256').update(salt).update(member).update('\0').update(b).digest('base64')

/** The mask: an AES-256-CTR keystream under the seed (zero IV, the key is single-use), read as LE uint32. */
export function expandMask(seed: Buffer, length: number): Uint32Array {
  const stream = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16)).update(Buffer.alloc(length * 4))
  const out = new Uint32Array(length)
  for (let i = 0; i < length; i++) out[i] = stream.readUInt32LE(i * 4)
  return out
}

export function addInto(acc: Uint32Array, v: Uint32Array, sign: 1 | -1): void {
  for (let i = 0; i < acc.length; i++) acc[i] = sign === 1 ? (acc[i]! + v[i]!) >>> 0 : (acc[i]! - v[i]!) >>> 0
}
