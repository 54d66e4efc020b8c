/**
 * Differential privacy of one contribution: clip, then add noise (docs/federation.md, "Differential
 * privacy and the budget").
 *
 * Neighbouring data sets differ by one member's whole contribution to a round (user-level privacy,
 * add or remove one member). Each contribution is first clipped: scaled down, all slots alike, so
 * that its norm is at most `clip` (L1 for Laplace, L2 for Gaussian). One member then moves the
 * round's sum by at most `clip` in that norm, so the sensitivity is `clip`. The guarantee's noise:
 *
 *   - Laplace, ε-DP: scale b = sensitivity / ε.
 *   - Gaussian, (ε, δ)-DP: σ from the analytic calibration (gaussian.ts).
 *
 * `shares` k says how many contributions that noise is split among, each adding its share before the
 * vector leaves the machine. k = 1 (the group's `noise: local`): each contribution carries all of it
 * and is private on its own. k = t, the round's threshold (`noise: distributed`, the default): any
 * k contributions summed carry the full noise, so a contribution is private inside any sum secure
 * aggregation opens (it opens none of fewer than t) as long as at least k of the summed members
 * are honest; its masked vector alone carries only 1/k of the variance. The shares are exact:
 *
 *   - Gaussian: N(0, σ²/k); k of them sum to N(0, σ²).
 *   - Laplace: b·(G − G′), G, G′ ~ Gamma(1/k, 1) independent; k of them sum to b·(Gamma(1) −
 *     Gamma(1)) = b·(Exp − Exp), which is Laplace(b) (Gamma shapes add up; the difference of two
 *     exponentials is Laplace). With k = 1 the inverse CDF is used instead.
 *
 * Uniforms come from crypto.randomBytes (random.ts). The parameters travel in the bundle, so anyone
 * can check what a contribution claims.
 */
import { MiradorError } from '../../engine/errors.js'
import { sampleGamma } from '../../lib/gamma.js'
import { analyticGaussianSigma } from './gaussian.js'
import { cryptoUniform } from './random.js'

export type Mechanism = 'laplace' | 'gaussian'
export type Norm = 'l1' | 'l2'
/** How a round's noise is split: among its t contributions (default) or carried whole by each. */
export type Noise = 'distributed' | 'local'

/** The noise a contribution carries, as stated in its bundle. */
export interface PrivacyParams {
  mechanism: Mechanism
  epsilon: number
  /** 0 for Laplace */
  delta: number
  /** the norm bound of one contribution after clipping */
  clip: number
  /** which norm `clip` bounds: l1 (Laplace) or l2 (Gaussian) */
  norm: Norm
  /** of the round's sum to one member's contribution: equal to `clip` */
  sensitivity: number
  /** how many contributions share the noise (1: each carries all of it; distributed: the round's t) */
  shares: number
}

/**
 * The documented defaults: ε = 1 per contribution, Laplace (pure ε-DP, no δ to explain), clip 10
 * ratings (L1) per round, a budget of ε = 4 per 30 days (four rounds a month). See
 * docs/federation.md for why.
 */
export const PRIVACY_DEFAULTS = {
  mechanism: 'laplace' as Mechanism,
  epsilon: 1,
  /** used only by the Gaussian mechanism */
  delta: 1e-6,
  clip: 10,
  periodDays: 30,
  budget: 4,
} as const

/** What `--epsilon` and the group file may ask for, per contribution. */
export const LIMITS = {
  epsilon: { min: 0.05, max: 5 },
  delta: { min: 1e-12, max: 1e-4 },
  clip: { min: 1, max: 1000 },
  shares: { min: 1, max: 1000 },
} as const

export interface PrivacyInput {
  mechanism?: Mechanism
  epsilon?: number
  delta?: number
  clip?: number
  shares?: number
}

function inRange(what: string, x: number, lim: { min: number; max: number }, hint: string): void {
  if (!(Number.isFinite(x) && x >= lim.min && x <= lim.max))
    throw new MiradorError(
      'FEDERATION_PARAMS',
      `${what} must be a number from ${lim.min} to ${lim.max}, not ${x}${hint}`,
      { details: { [what]: x, ...lim } },
    )
}

/** Checked parameters, defaults filled in; FEDERATION_PARAMS outside LIMITS. */
export function privacyParams(input: PrivacyInput = {}): PrivacyParams {
  const mechanism = input.mechanism ?? PRIVACY_DEFAULTS.mechanism
  if (mechanism !== 'laplace' && mechanism !== 'gaussian')
    throw new MiradorError('FEDERATION_PARAMS', `the mechanism must be laplace or gaussian, not ${String(mechanism)}`)
  const epsilon = input.epsilon ?? PRIVACY_DEFAULTS.epsilon
  inRange('epsilon', epsilon, LIMITS.epsilon, ' (smaller is more private; the default is 1)')
  const clip = input.clip ?? PRIVACY_DEFAULTS.clip
  inRange('clip', clip, LIMITS.clip, '')
  const shares = input.shares ?? 1
  inRange('shares', shares, LIMITS.shares, '')
  if (!Number.isInteger(shares))
    throw new MiradorError('FEDERATION_PARAMS', `shares must be a whole number, not ${shares}`)
  if (mechanism === 'laplace') {
    if (input.delta !== undefined && input.delta !== 0)
      throw new MiradorError('FEDERATION_PARAMS', `the Laplace mechanism has no delta; remove delta (${input.delta})`)
    return { mechanism, epsilon, delta: 0, clip, norm: 'l1', sensitivity: clip, shares }
  }
  const delta = input.delta ?? PRIVACY_DEFAULTS.delta
  inRange('delta', delta, LIMITS.delta, ' (the Gaussian mechanism needs a small delta, e.g. 1e-6)')
  return { mechanism, epsilon, delta, clip, norm: 'l2', sensitivity: clip, shares }
}

/** The vector's norm. */
export function norm(v: readonly number[], which: Norm): number {
  if (which === 'l1') return v.reduce((s, x) => s + Math.abs(x), 0)
  return Math.sqrt(v.reduce((s, x) => s + x * x, 0))
}

/** `v` scaled down so that its norm is at most `bound` (unchanged when it already is). */
export function clipVector(v: readonly number[], bound: number, which: Norm): number[] {
  for (const x of v)
    if (!Number.isFinite(x)) throw new MiradorError('INTERNAL', `a contribution holds a non-finite number (${x})`)
  const n = norm(v, which)
  return n <= bound ? [...v] : v.map((x) => (x * bound) / n)
}

/** Laplace b or Gaussian σ of the guarantee (what a sum of `shares` contributions carries). */
export function noiseScale(p: PrivacyParams): number {
  return p.mechanism === 'laplace'
    ? p.sensitivity / p.epsilon
    : analyticGaussianSigma(p.epsilon, p.delta, p.sensitivity)
}

/**
 * The scale of one contribution's share: noiseScale / √shares. Gaussian: its σ. Laplace: its
 * standard deviation is √2 times this, as for Laplace(b) itself (the share's variance is 2b²/k).
 */
export function contributionNoiseScale(p: PrivacyParams): number {
  return noiseScale(p) / Math.sqrt(p.shares)
}

/**
 * The standard deviation of the noise in each slot of a sum of `contributions` contributions made
 * with `p` (variances add up): √(n / k) times the guarantee's (Laplace √2·b, Gaussian σ). What
 * prior.json states as `noise.sd` for an opened sum of n survivors.
 */
export function noiseSd(p: PrivacyParams, contributions: number): number {
  const full = p.mechanism === 'laplace' ? Math.SQRT2 * noiseScale(p) : noiseScale(p)
  return full * Math.sqrt(contributions / p.shares)
}

/** One Laplace(0, b) draw by inverse CDF of a uniform in (0, 1). */
export function laplaceSample(b: number, uniform: () => number = cryptoUniform): number {
  const u = uniform()
  return u < 0.5 ? b * Math.log(2 * u) : -b * Math.log(2 * (1 - u))
}

/** One share of Laplace(0, b) split k ways: b·(G − G′), G, G′ ~ Gamma(1/k, 1) (see the file's comment). */
export function laplaceShareSample(b: number, k: number, uniform: () => number = cryptoUniform): number {
  if (k === 1) return laplaceSample(b, uniform)
  return b * (sampleGamma(uniform, 1 / k) - sampleGamma(uniform, 1 / k))
}

/** One N(0, σ²) draw (Box–Muller; one of the pair is used). */
export function gaussianSample(sigma: number, uniform: () => number = cryptoUniform): number {
  return sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
}

/**
 * The contribution as it may leave the machine: clipped, then its share of the noise added to every
 * slot. `uniform` is for tests and benchmarks; contributions use the CSPRNG.
 */
export function privatize(v: readonly number[], p: PrivacyParams, uniform: () => number = cryptoUniform): number[] {
  const checked = privacyParams(p)
  const k = checked.shares
  const scale = noiseScale(checked)
  const draw =
    checked.mechanism === 'laplace'
      ? () => laplaceShareSample(scale, k, uniform)
      : () => gaussianSample(scale / Math.sqrt(k), uniform)
  return clipVector(v, checked.clip, checked.norm).map((x) => x + draw())
}

/**
 * A round's parameters: the group's, with the noise split among the round's t contributions when
 * the group's noise is distributed (t = max(threshold, ⌊n/2⌋ + 1) when the round opens), whole in
 * each when it is local.
 */
export function roundParams(group: { params: PrivacyParams; noise: Noise }, t: number): PrivacyParams {
  if (!(Number.isInteger(t) && t >= 1))
    throw new MiradorError('INTERNAL', `a round's threshold must be a whole number ≥ 1, not ${t}`)
  return privacyParams({ ...group.params, shares: group.noise === 'distributed' ? t : 1 })
}
