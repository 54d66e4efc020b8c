/**
 * Fixed-point encoding of real vectors into integers mod 2^32, the ring the masks live in.
 *
 * A value v is stored as round(v · scale) in two's complement mod 2^32; the opened sum is read back
 * as a signed 32-bit integer and divided by the scale (a power of two, so decoding is exact and
 * identical on every machine). Masked arithmetic wraps silently, so the only guard against a wrong
 * total is checking, before masking, that the sum of `members` values this large cannot leave
 * [-2^31, 2^31): every |v| must be below 2^31 / (members · scale).
 */
import { MiradorError } from '../../../engine/errors.js'

export const MODULUS_BITS = 32
/** 2^12: a precision of 1/4096, and with 50 members values up to ±10,485 each. */
export const DEFAULT_SCALE = 4096

const HALF = 2 ** 31

export function checkScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 1 || scale > 2 ** 24 || (scale & (scale - 1)) !== 0) {
    throw new MiradorError(
      'FEDERATION_RANGE',
      `the fixed-point scale must be a power of two from 1 to 2^24, not ${scale}`,
    )
  }
}

/** The largest |value| one member may contribute when `members` values are summed. */
export function maxMagnitude(members: number, scale: number): number {
  return (HALF - 1) / (members * scale)
}

/** Encodes values for a sum over `members` members; FEDERATION_RANGE when the sum could overflow. */
export function encodeVector(values: readonly number[], members: number, scale = DEFAULT_SCALE): Uint32Array {
  checkScale(scale)
  const limit = maxMagnitude(members, scale)
  const out = new Uint32Array(values.length)
  values.forEach((v, i) => {
    if (!Number.isFinite(v) || Math.abs(v) > limit) {
      throw new MiradorError(
        'FEDERATION_RANGE',
        `value ${v} at index ${i} is outside ±${limit.toFixed(3)}, the range whose sum over ${members} members ` +
          `fits the fixed-point encoding (scale ${scale}): clip the contribution or use a smaller scale`,
        { details: { index: i, value: v, limit, members, scale } },
      )
    }
    out[i] = Math.round(v * scale) >>> 0
  })
  return out
}

export function decodeVector(encoded: Uint32Array, scale = DEFAULT_SCALE): number[] {
  checkScale(scale)
  return Array.from(encoded, (u) => (u | 0) / scale)
}
