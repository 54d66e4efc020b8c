/** A round's fixed-point scale: as fine as the 32-bit sum allows for its members and noise. */
import { describe, expect, it } from '@jest/globals'
import { privacyParams } from '../../src/plugins/federation/dp.js'
import { roundScale } from '../../src/plugins/federation/round/params.js'

describe('roundScale', () => {
  it('keeps 4096 for usual groups and coarsens for large groups with small ε, so a mask is never refused', () => {
    const usual = privacyParams({ epsilon: 1, shares: 26 })
    expect(roundScale(50, usual)).toBe(4096)
    // local Laplace noise at ε 0.05: b = 200 a slot; with 1000 members 4096 could overflow
    const noisy = privacyParams({ epsilon: 0.05 })
    const scale = roundScale(1000, noisy)
    expect(scale).toBe(128)
    const largest = 10 + 50 * Math.SQRT2 * 200
    expect(1000 * largest * scale).toBeLessThan(2 ** 31)
    expect(1000 * largest * scale * 2).toBeGreaterThan(2 ** 31)
  })

  it('refuses a group whose sum could overflow at any scale', () => {
    expect(() => roundScale(1_000_000, privacyParams({ epsilon: 0.05 }))).toThrow(/overflow/)
  })
})
