import { describe, expect, it } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { combine, PRIME, split } from '../../src/plugins/federation/secagg/shamir.js'
import { bytesToBig } from '../../src/plugins/federation/secagg/wire.js'

describe('Shamir sharing over 2^521 − 1', () => {
  const secret = bytesToBig(randomBytes(32))
  const xs = Array.from({ length: 12 }, (_, i) => i + 1)
  const shares = split(secret, xs, 7)

  it('any t shares reconstruct the secret, in any order', () => {
    expect(combine(shares.slice(0, 7))).toBe(secret)
    expect(combine(shares.slice(5))).toBe(secret)
    expect(combine([...shares].reverse().filter((_, i) => i % 2 === 0 || i === 1))).toBe(secret)
  })

  it('t − 1 shares give something else, and so does one altered share', () => {
    expect(combine(shares.slice(0, 6))).not.toBe(secret)
    const altered = shares.slice(0, 7).map((s, i) => (i === 3 ? { x: s.x, y: (s.y + 1n) % PRIME } : s))
    expect(combine(altered)).not.toBe(secret)
  })

  it('two splits of one secret give different shares (random coefficients)', () => {
    const again = split(secret, xs, 7)
    expect(again.map((s) => s.y)).not.toEqual(shares.map((s) => s.y))
    expect(combine(again.slice(2, 9))).toBe(secret)
  })
})
