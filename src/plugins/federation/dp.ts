/**
 * Differential privacy of one contribution: clip, then add noise (docs/federation.md, "Differential
 * privacy and the budget").
 *
 * Neighbouring data sets differ by one member's whole contribution to a round (user-level privacy,
 * add or remove one member). Each contribution is first clipped: scaled down, all slots alike, so
 * that its norm is at most `clip` (L1 for Laplace, L2 for Gaussian). One member then moves the
 * round's sum by at most `clip` in that norm, so the sensitivity is `clip`. Noise is added to every
 * slot by the member before the vector leaves the machine (local DP: the contribution alone is
 * private, whatever happens to secure aggregation or the aggregator):
 *
 *   - Laplace, ε-DP: scale b = sensitivity / ε, sampled by inverse CDF.
 *   - Gaussian, (ε, δ)-DP: σ from the analytic calibration (gaussian.ts), sampled by Box–Muller.
 *
 * Distributed noise (Gaussian only, `shares` k > 1): each contribution adds N(0, σ²/k) instead, so
 * any k contributions summed carry N(0, σ²), the noise of the guarantee. A contribution is then
 * private only inside a sum of at least k honest ones: secure aggregation opens nothing smaller,
 * and the group file keeps k at or below its threshold. Laplace noise could be split the same way
 * (as differences of Gamma variables) but is not.
 *
 * Uniforms come from crypto.randomBytes (random.ts). The parameters travel in the bundle, so anyone
 * can check what a contribution claims.
 */
import { MiradorError } from '../../engine/errors.js'
import { analyticGaussianSigma } from './gaussian.js'
import { cryptoUniform } from './random.js'

export type Mechanism = 'laplace' | 'gaussian'
export type Norm = 'l1' | 'l2'

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
  /** how many contributions share the noise (1: each carries all of it) */
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
    if (shares !== 1)
      throw new MiradorError('FEDERATION_PARAMS', 'noise shared among contributions needs the gaussian mechanism')
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

/** The scale one contribution adds: noiseScale / √shares (Gaussian variances add up). */
export function contributionNoiseScale(p: PrivacyParams): number {
  return noiseScale(p) / Math.sqrt(p.shares)
}

/** One Laplace(0, b) draw by inverse CDF of a uniform in (0, 1). */
export function laplaceSample(b: number, uniform: () => number = cryptoUniform): number {
  const u = uniform()
  return u < 0.5 ? b * Math.log(2 * u) : -b * Math.log(2 * (1 - u))
}

/** One N(0, σ²) draw (Box–Muller; one of the pair is used). */
export function gaussianSample(sigma: number, uniform: () => number = cryptoUniform): number {
  return sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform())
}

/** The contribution as it may leave the machine: clipped, then noised in every slot. */
export function privatize(v: readonly number[], p: PrivacyParams): number[] {
  const checked = privacyParams(p)
  const scale = contributionNoiseScale(checked)
  const draw = checked.mechanism === 'laplace' ? laplaceSample : gaussianSample
  return clipVector(v, checked.clip, checked.norm).map((x) => x + draw(scale))
}
