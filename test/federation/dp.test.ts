/**
 * Differential privacy of a contribution: clipping bounds a member's influence, noise is fresh each
 * time and has the stated scale. The statistical checks use many samples and bounds of about ten
 * standard errors, so they fail on a wrong scale, not by chance.
 */
import { describe, expect, it } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import {
  clipVector,
  contributionNoiseScale,
  gaussianSample,
  laplaceSample,
  noiseScale,
  norm,
  privacyParams,
  privatize,
  PRIVACY_DEFAULTS,
} from '../../src/plugins/federation/dp.js'
import { analyticGaussianSigma, gaussianDelta } from '../../src/plugins/federation/gaussian.js'

const N = 200_000
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length
const sd = (xs: number[]) => {
  const m = mean(xs)
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1))
}

describe('parameters', () => {
  it('defaults: Laplace, ε = 1, clip 10 in L1, sensitivity = clip', () => {
    expect(privacyParams()).toEqual({
      mechanism: 'laplace',
      epsilon: 1,
      delta: 0,
      clip: 10,
      norm: 'l1',
      sensitivity: 10,
      shares: 1,
    })
    expect(PRIVACY_DEFAULTS.budget).toBe(4)
    expect(privacyParams({ mechanism: 'gaussian' })).toMatchObject({ delta: 1e-6, norm: 'l2' })
  })

  it('refuses ε, δ or clip outside the limits with FEDERATION_PARAMS', () => {
    for (const bad of [{ epsilon: 0.01 }, { epsilon: 6 }, { epsilon: Number.NaN }, { clip: 0 }]) {
      let err: unknown
      try {
        privacyParams(bad)
      } catch (e) {
        err = e
      }
      expect(MiradorError.is(err, 'FEDERATION_PARAMS')).toBe(true)
    }
    expect(() => privacyParams({ mechanism: 'gaussian', delta: 0.1 })).toThrow(/delta must be/)
    expect(() => privacyParams({ delta: 1e-6 })).toThrow(/Laplace mechanism has no delta/)
  })
})

describe('clipping', () => {
  it('scales a contribution down to the bound, in L1 or L2, and leaves a small one alone', () => {
    const big = [300, 100, 0, 600]
    const l1 = clipVector(big, 10, 'l1')
    expect(norm(l1, 'l1')).toBeCloseTo(10, 9)
    expect(l1[3]! / l1[1]!).toBeCloseTo(6, 9) // proportions kept
    expect(norm(clipVector(big, 10, 'l2'), 'l2')).toBeCloseTo(10, 9)
    expect(clipVector([1, 2], 10, 'l1')).toEqual([1, 2])
  })

  it('bounds one member’s influence on the sum by the clip, however many ratings it has', () => {
    const others = Array.from({ length: 11 }, (_, i) => clipVector([i, 2 * i, 1, 0], 10, 'l1'))
    const sum = (vs: number[][]) => vs.reduce((a, v) => a.map((x, i) => x + v[i]!), [0, 0, 0, 0])
    const without = sum(others)
    const heavy = clipVector([1e6, 0, 0, 5e5], 10, 'l1')
    const diff = sum([...others, heavy]).map((x, i) => x - without[i]!)
    expect(norm(diff, 'l1')).toBeLessThanOrEqual(10 + 1e-9)
  })
})

describe('noise', () => {
  it('two contributions of the same counts differ', () => {
    const counts = [3, 1, 0, 2, 5, 0]
    const a = privatize(counts, privacyParams())
    const b = privatize(counts, privacyParams())
    expect(a).toHaveLength(6)
    expect(a).not.toEqual(b)
    expect(a.some((x, i) => x !== counts[i])).toBe(true)
  })

  it('Laplace: mean ≈ 0, mean |x| ≈ b, variance ≈ 2b² (b = sensitivity / ε)', () => {
    const p = privacyParams({ epsilon: 0.5, clip: 1 })
    const b = noiseScale(p)
    expect(b).toBe(2)
    const xs = Array.from({ length: N }, () => laplaceSample(b))
    expect(Math.abs(mean(xs))).toBeLessThan(0.05) // standard error 0.0063
    expect(mean(xs.map(Math.abs))).toBeGreaterThan(b * 0.98) // standard error 0.0045
    expect(mean(xs.map(Math.abs))).toBeLessThan(b * 1.02)
    expect(sd(xs)).toBeGreaterThan(b * Math.SQRT2 * 0.95)
    expect(sd(xs)).toBeLessThan(b * Math.SQRT2 * 1.05)
    // the median of |x| is b·ln 2
    const inside = xs.filter((x) => Math.abs(x) < b * Math.LN2).length / N
    expect(Math.abs(inside - 0.5)).toBeLessThan(0.01) // standard error 0.0011
  })

  it('Gaussian: mean ≈ 0, standard deviation ≈ σ', () => {
    const sigma = 3
    const xs = Array.from({ length: N }, () => gaussianSample(sigma))
    expect(Math.abs(mean(xs))).toBeLessThan(0.07) // standard error 0.0067
    expect(sd(xs)).toBeGreaterThan(sigma * 0.98)
    expect(sd(xs)).toBeLessThan(sigma * 1.02)
    const within = xs.filter((x) => Math.abs(x) < sigma).length / N
    expect(Math.abs(within - 0.6827)).toBeLessThan(0.01)
  })

  it('distributed Gaussian noise: k shares summed carry the full σ; Laplace cannot be shared', () => {
    const p = privacyParams({ mechanism: 'gaussian', epsilon: 1, clip: 3, shares: 4 })
    const sigma = noiseScale(p)
    expect(contributionNoiseScale(p)).toBeCloseTo(sigma / 2, 12)
    // four members' noise (the counts are zero, so the sum is the noise alone)
    const sums = Array.from({ length: N / 4 }, () => {
      let s = 0
      for (let i = 0; i < 4; i++) s += privatize([0], p)[0]!
      return s
    })
    expect(sd(sums)).toBeGreaterThan(sigma * 0.97) // 50,000 sums: standard error of the sd about 0.3 %
    expect(sd(sums)).toBeLessThan(sigma * 1.03)
    expect(() => privacyParams({ shares: 2 })).toThrow(/needs the gaussian mechanism/)
    expect(() => privacyParams({ mechanism: 'gaussian', shares: 1.5 })).toThrow(/whole number/)
  })

  it('the analytic Gaussian σ meets δ exactly, and is below the classic σ', () => {
    const [eps, delta, sens] = [0.5, 1e-5, 10]
    const sigma = analyticGaussianSigma(eps, delta, sens)
    expect(gaussianDelta(sigma, eps, sens)).toBeLessThanOrEqual(delta)
    expect(gaussianDelta(sigma * 0.99, eps, sens)).toBeGreaterThan(delta)
    const classic = (sens * Math.sqrt(2 * Math.log(1.25 / delta))) / eps
    expect(sigma).toBeLessThan(classic)
    expect(sigma).toBeGreaterThan(classic * 0.5)
    // ε = 5 (beyond the classic bound's range) still calibrates
    const s5 = analyticGaussianSigma(5, 1e-6, 1)
    expect(gaussianDelta(s5, 5, 1)).toBeLessThanOrEqual(1e-6)
  })
})
