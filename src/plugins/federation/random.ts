/**
 * Uniform numbers for privacy noise from the operating system's CSPRNG (crypto.randomBytes), never
 * Math.random: noise an observer could predict protects nothing. Bytes are drawn in blocks to
 * keep the cost per sample low.
 */
import { randomBytes } from 'node:crypto'

const BLOCK = 7 * 1024
let pool = Buffer.alloc(0)
let offset = 0

/** A uniform number strictly inside (0, 1), with 53 random bits: (k + ½) / 2^53. */
export function cryptoUniform(): number {
  if (offset + 7 > pool.length) {
    pool = randomBytes(BLOCK)
    offset = 0
  }
  const hi = pool.readUInt32BE(offset) // 32 bits
  const lo = pool.readUIntBE(offset + 4, 3) >>> 3 // 21 bits
  offset += 7
  return (hi * 2 ** 21 + lo + 0.5) / 2 ** 53
}
