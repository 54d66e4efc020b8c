/**
 * Differential privacy of a contribution: clipping bounds a member's influence, noise is fresh each
 * time and has the stated scale. The statistical checks use many samples and bounds of five to ten
 * standard errors, so they fail on a wrong scale, not by chance.
 */
import { describe, expect, it } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import {
  clipVector,
  contributionNoiseScale,
  gaussianSample,
  laplaceSample,
  laplaceShareSample,
  noiseScale,
  noiseSd,
  norm,
  privacyParams,
  privatize,
  PRIVACY_DEFAULTS,
  roundParams,
} from '../../src/plugins/federation/dp.js'
import { cryptoUniform } from '../../src/plugins/federation/random.js'
import { sampleGamma } from '../../src/lib/gamma.js'
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

  it('distributed Gaussian noise: k shares summed carry the full σ', () => {
    const p = privacyParams({ mechanism: 'gaussian', epsilon: 1, clip: 3, shares: 4 })
    const sigma = noiseScale(p)
    expect(contributionNoiseScale(p)).toBeCloseTo(sigma / 2, 12)
    // four members' noise (the counts are zero, so the sum is the noise alone)
    const sums = new Array<number>(N / 4).fill(0)
    for (let i = 0; i < 4; i++) privatize(new Array<number>(N / 4).fill(0), p).forEach((x, j) => (sums[j]! += x))
    expect(sd(sums)).toBeGreaterThan(sigma * 0.97) // 50,000 sums: standard error of the sd about 0.3 %
    expect(sd(sums)).toBeLessThan(sigma * 1.03)
    expect(() => privacyParams({ mechanism: 'gaussian', shares: 1.5 })).toThrow(/whole number/)
  })

  it('Gamma(1/50) by the boost for shapes below 1: mean and variance 1/50, and its mass near 0', () => {
    const a = 1 / 50
    const n = 200_000
    const xs = Array.from({ length: n }, () => sampleGamma(cryptoUniform, a))
    expect(xs.every((x) => x >= 0 && Number.isFinite(x))).toBe(true)
    expect(Math.abs(mean(xs) - a) / a).toBeLessThan(0.08) // standard error 1.6 %
    expect(Math.abs(sd(xs) ** 2 - a) / a).toBeLessThan(0.2) // standard error 3.9 %
    // P(G < 1e-10) = 1e-10^a / Γ(1 + a) = 0.6381 (the boost's tiny values are right, not lost)
    const tiny = xs.filter((x) => x < 1e-10).length / n
    expect(Math.abs(tiny - 0.6381)).toBeLessThan(0.006) // standard error 0.0011
  })
})

/** Kolmogorov–Smirnov distance between a sample and the Laplace(0, b) distribution. */
function ksLaplace(xs: number[], b: number): number {
  const sorted = [...xs].sort((x, y) => x - y)
  const cdf = (x: number) => (x < 0 ? 0.5 * Math.exp(x / b) : 1 - 0.5 * Math.exp(-x / b))
  let d = 0
  sorted.forEach((x, i) => {
    const f = cdf(x)
    d = Math.max(d, Math.abs(f - i / sorted.length), Math.abs((i + 1) / sorted.length - f))
  })
  return d
}

describe('distributed Laplace noise', () => {
  // n sums of k contributions' noise, each contribution a vector of n zeros (so it is noise alone)
  const sums = (k: number, n: number, b: number) => {
    const p = privacyParams({ epsilon: 10 / b, clip: 10, shares: k })
    const total = new Array<number>(n).fill(0)
    for (let i = 0; i < k; i++) privatize(new Array<number>(n).fill(0), p).forEach((x, j) => (total[j]! += x))
    return total
  }

  it.each([2, 26, 50])('the noise of %i contributions summed is Laplace(b): variance, tails, distribution', (k) => {
    const n = 20_000
    const b = 4
    const xs = sums(k, n, b)
    // variance 2b²: the sample variance's standard error is √(20/n)·b², 1.6 % of 2b²
    expect(Math.abs(sd(xs) ** 2 / (2 * b * b) - 1)).toBeLessThan(0.08)
    // tails: P(|X| > 3b) = e⁻³ = 0.0498, P(|X| > 5b) = e⁻⁵ = 0.0067 (a normal of that variance: 0.0004)
    const beyond = (m: number) => xs.filter((x) => Math.abs(x) > m * b).length / n
    expect(Math.abs(beyond(3) - Math.exp(-3))).toBeLessThan(0.008) // standard error 0.0015
    expect(Math.abs(beyond(5) - Math.exp(-5))).toBeLessThan(0.003) // standard error 0.0006
    // Kolmogorov–Smirnov: P(D > 3/√n) ≈ 2e⁻¹⁸ if the sum is Laplace(b); a normal of the same variance is at 0.06
    expect(ksLaplace(xs, b)).toBeLessThan(3 / Math.sqrt(n))
  })

  it('one contribution alone carries 1/k of the variance: its vector alone is not private', () => {
    const b = 4
    const one = Array.from({ length: 40_000 }, () => laplaceShareSample(b, 26))
    expect(Math.abs(sd(one) ** 2 / ((2 * b * b) / 26) - 1)).toBeLessThan(0.15)
    expect(ksLaplace(one, b)).toBeGreaterThan(0.3) // nothing like Laplace(b)
  })

  it('a round takes the split from the group: distributed shares = t, local 1; the sum’s sd', () => {
    const params = privacyParams()
    expect(roundParams({ params, noise: 'distributed' }, 26)).toEqual({ ...params, shares: 26 })
    expect(roundParams({ params, noise: 'local' }, 26)).toEqual({ ...params, shares: 1 })
    expect(() => roundParams({ params, noise: 'distributed' }, 0)).toThrow(/whole number/)
    // 26 survivors of a round split 26 ways carry Laplace(10): sd √2·10; 50 local contributions √50 times that
    expect(noiseSd(roundParams({ params, noise: 'distributed' }, 26), 26)).toBeCloseTo(Math.SQRT2 * 10, 9)
    expect(noiseSd(params, 50)).toBeCloseTo(Math.SQRT2 * 10 * Math.sqrt(50), 9)
    expect(noiseSd(privacyParams({ mechanism: 'gaussian', shares: 4 }), 4)).toBeCloseTo(
      noiseScale(privacyParams({ mechanism: 'gaussian' })),
      9,
    )
  })
})

describe('the Gaussian calibration', () => {
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
