/**
 * Shamir secret sharing over GF(p), p = 2^521 − 1 (a Mersenne prime, far above the 256-bit secrets
 * shared here, so any 32-byte secret is a field element). Polynomial coefficients come from
 * crypto.randomBytes by rejection sampling, so they are uniform in the field.
 */
import { randomBytes } from 'node:crypto'
import { MiradorError } from '../../../engine/errors.js'

export const PRIME = (1n << 521n) - 1n

export interface Share {
  x: number
  y: bigint
}

const mod = (a: bigint): bigint => {
  const r = a % PRIME
  return r < 0n ? r + PRIME : r
}

function randomField(): bigint {
  for (;;) {
    const buf = randomBytes(66) // 528 bits, the top 7 dropped below
    buf[0]! &= 0x01
    const n = BigInt('0x' + buf.toString('hex'))
    if (n < PRIME) return n
  }
}

function inverse(a: bigint): bigint {
  let [r0, r1] = [mod(a), PRIME]
  let [s0, s1] = [1n, 0n]
  while (r1 !== 0n) {
    const q = r0 / r1
    ;[r0, r1] = [r1, r0 - q * r1]
    ;[s0, s1] = [s1, s0 - q * s1]
  }
  if (r0 !== 1n) throw new MiradorError('INTERNAL', 'no inverse in the Shamir field')
  return mod(s0)
}

/** Shares of `secret` at the given x (distinct, ≥ 1); any `threshold` of them reconstruct it. */
export function split(secret: bigint, xs: readonly number[], threshold: number): Share[] {
  if (secret < 0n || secret >= PRIME) throw new MiradorError('INTERNAL', 'Shamir secret outside the field')
  const coeffs = [secret]
  for (let i = 1; i < threshold; i++) coeffs.push(randomField())
  return xs.map((x) => {
    const bx = BigInt(x)
    let y = 0n
    for (let i = coeffs.length - 1; i >= 0; i--) y = mod(y * bx + coeffs[i]!)
    return { x, y }
  })
}

/**
 * Lagrange coefficients at 0 for a set of x: they depend on the x only, and one round reconstructs
 * every secret from the same members' shares, so they are computed once per set.
 */
const lagrangeCache = new Map<string, bigint[]>()

function lagrangeAtZero(xs: readonly number[]): bigint[] {
  const key = xs.join(',')
  const hit = lagrangeCache.get(key)
  if (hit) return hit
  const coeffs = xs.map((xi, i) => {
    let num = 1n
    let den = 1n
    xs.forEach((xj, j) => {
      if (j === i) return
      num = mod(num * BigInt(-xj))
      den = mod(den * BigInt(xi - xj))
    })
    return mod(num * inverse(den))
  })
  if (lagrangeCache.size > 256) lagrangeCache.clear()
  lagrangeCache.set(key, coeffs)
  return coeffs
}

/** The secret from exactly the shares given (the caller picks `threshold` of them). */
export function combine(shares: readonly Share[]): bigint {
  const xs = shares.map((s) => s.x)
  if (new Set(xs).size !== xs.length) throw new MiradorError('FEDERATION_SHARE', 'two shares have the same x')
  const coeffs = lagrangeAtZero(xs)
  return shares.reduce((acc, s, i) => mod(acc + s.y * coeffs[i]!), 0n)
}
