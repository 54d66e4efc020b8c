/** JSON-safe forms of the binary values of a round: base64 strings, vectors as little-endian uint32. */
import { MiradorError } from '../../../engine/errors.js'

export const b64 = (buf: Uint8Array): string => Buffer.from(buf).toString('base64')

export function unb64(text: unknown, what: string, length?: number): Buffer {
  const buf = typeof text === 'string' ? Buffer.from(text, 'base64') : Buffer.alloc(0)
  if (typeof text !== 'string' || buf.toString('base64') !== text || (length !== undefined && buf.length !== length)) {
    throw new MiradorError(
      'FEDERATION_ROUND',
      `${what} is not valid base64${length === undefined ? '' : ` of ${length} bytes`}`,
    )
  }
  return buf
}

/** Little-endian whatever the machine, so vector files are byte-identical everywhere. */
export function packVector(v: Uint32Array): string {
  const buf = Buffer.alloc(v.length * 4)
  v.forEach((u, i) => buf.writeUInt32LE(u, i * 4))
  return b64(buf)
}

export function unpackVector(text: unknown, what: string): Uint32Array {
  const buf = unb64(text, what)
  if (buf.length % 4 !== 0) throw new MiradorError('FEDERATION_ROUND', `${what} is not a whole number of 32-bit values`)
  const out = new Uint32Array(buf.length / 4)
  for (let i = 0; i < out.length; i++) out[i] = buf.readUInt32LE(i * 4)
  return out
}

/** A 32-byte secret as a field element and back (big-endian, fixed width). */
export const bytesToBig = (buf: Uint8Array): bigint => BigInt('0x' + (Buffer.from(buf).toString('hex') || '0'))

export function bigToBytes(n: bigint, length: number, what: string): Buffer {
  const hex = n.toString(16)
  if (n < 0n || hex.length > length * 2) {
    throw new MiradorError('FEDERATION_SHARE', `the shares of ${what} do not reconstruct a ${length}-byte secret`)
  }
  return Buffer.from(hex.padStart(length * 2, '0'), 'hex')
}

/** Field elements of the Shamir field (< 2^521) travel as 66 big-endian bytes. */
export const FIELD_BYTES = 66
export const fieldToB64 = (n: bigint): string => b64(bigToBytes(n, FIELD_BYTES, 'a share'))
export const b64ToField = (text: unknown, what: string): bigint => bytesToBig(unb64(text, what, FIELD_BYTES))
