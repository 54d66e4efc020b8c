/**
 * Routing: which of the candidate chains answers a query of some type, by Thompson sampling.
 *
 * Each candidate's belief "this user rates this chain's answer ≥ 4" is a Beta distribution built
 * from its weight w (journal.ts: the posterior mean with the YAML weight as a prior of n0
 * pseudo-ratings) and its count n of ratings:
 *
 *     α = 1 + w·(n + n0),   β = 1 + (1 − w)·(n + n0)
 *
 * (the 1 + … is a uniform Beta(1, 1) under it, so a chain nobody rated still has a proper,
 * wide posterior). A candidate's outside `prior` (the `priors` hook: a community's ratings as
 * pseudo-ratings, already faded by the user's own count) is added to α and β as it is.
 *
 * Thompson sampling draws one value from each candidate's Beta and picks the highest draw: a
 * chain is chosen as often as it is likely to be the best one, so well-rated chains win most of
 * the time and uncertain ones are still tried now and then.
 *
 * `explore` (0–1) turns exploration down by tempering: each Beta is sharpened to
 * Beta(α / explore, β / explore), with the same mean and about `explore` times the variance, as if
 * the user had given 1/explore times as many ratings. 1 is plain Thompson sampling; 0.1 explores
 * little (an unrated chain is rarely tried against one that is clearly liked) and also adapts
 * more slowly when tastes change; 0 never explores: the highest mean α / (α + β) wins, ties
 * broken at random. The simulation in bench/learner-sim.ts measures the settings.
 *
 * Beta draws are X / (X + Y) with X ~ Gamma(α), Y ~ Gamma(β), each by Marsaglia and Tsang's
 * method (2000, lib/gamma.ts); randomness comes from the `rng` passed in (`seededRandom` for a
 * reproducible one).
 */
import { MiradorError } from '../../engine/errors.js'
import { sampleGamma } from '../../lib/gamma.js'
import { DEFAULT_PRIOR_STRENGTH } from './journal.js'

// shared with federation's noise (lib/gamma.ts); still exported from here for the learner's callers
export { sampleGamma, sampleNormal } from '../../lib/gamma.js'

/** mulberry32: a small, fast, seeded generator of numbers in [0, 1); not for secrets. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A Beta(a, b) draw, a, b > 0. */
export function sampleBeta(rng: () => number, a: number, b: number): number {
  const x = sampleGamma(rng, a)
  const y = sampleGamma(rng, b)
  if (x + y === 0) return rng() < a / (a + b) ? 1 : 0 // both underflowed (tiny shapes only)
  return x / (x + y)
}

/** The Beta posterior behind a weight and its count, plus any outside prior (see the file's comment). */
export function posterior(
  weight: number,
  count: number,
  priorStrength = DEFAULT_PRIOR_STRENGTH,
  prior?: { alpha: number; beta: number },
): { alpha: number; beta: number } {
  const m = Math.max(0, count) + priorStrength
  return { alpha: 1 + weight * m + (prior?.alpha ?? 0), beta: 1 + (1 - weight) * m + (prior?.beta ?? 0) }
}

/** Outside evidence about a candidate (RoutePriors of the engine): pseudo-ratings, their share, their source. */
export interface CandidatePrior {
  alpha: number
  beta: number
  share: number
  source: string
}

export interface Candidate {
  chain: string
  /** the chain's weight for the query's type (0–1) */
  weight: number
  /** ratings behind the weight */
  count: number
  /** of those, how many were ≥ 4, when the caller knows (only for the reason's wording) */
  successes?: number
  /** outside evidence (a community prior) added to its Beta */
  prior?: CandidatePrior
}

export interface ChooseOptions {
  /** numbers in [0, 1); `seededRandom(seed)` for a reproducible choice */
  rng: () => number
  /** 1 = plain Thompson sampling (default); lower explores less; 0 = the best mean always */
  explore?: number
  /** how many ratings the YAML weight counts for (default 2) */
  priorStrength?: number
  /** the query type, for the reason's wording */
  type?: string
}

export interface CandidateSample {
  chain: string
  /** the value drawn (with explore 0: the mean) */
  sample: number
  /** the Beta actually sampled (after tempering by `explore`) */
  alpha: number
  beta: number
  /** its mean α / (α + β): the weight pulled a little toward 0.5 by the uniform base */
  mean: number
}

export interface Choice {
  chain: string
  /** one per candidate, in the candidates' order */
  samples: CandidateSample[]
  /** a sentence for `--explain` */
  reason: string
}

const f2 = (x: number) => x.toFixed(2)

/** Picks one of `candidates` by Thompson sampling (see the file's comment). */
export function choose(candidates: readonly Candidate[], options: ChooseOptions): Choice {
  const explore = options.explore ?? 1
  const n0 = options.priorStrength ?? DEFAULT_PRIOR_STRENGTH
  if (candidates.length === 0) throw new MiradorError('USAGE', 'there is no candidate chain to choose from')
  if (!(Number.isFinite(explore) && explore >= 0 && explore <= 1))
    throw new MiradorError('USAGE', `explore must be a number from 0 to 1, not ${explore}`)
  if (!(Number.isFinite(n0) && n0 >= 0))
    throw new MiradorError('USAGE', `the prior strength must be a number ≥ 0, not ${n0}`)
  const seen = new Set<string>()
  for (const c of candidates) {
    if (seen.has(c.chain)) throw new MiradorError('INTERNAL', `chain ${c.chain} is a candidate twice`)
    seen.add(c.chain)
    if (!(Number.isFinite(c.weight) && c.weight >= 0 && c.weight <= 1))
      throw new MiradorError('USAGE', `chain ${c.chain}: a weight is a number from 0 to 1, not ${c.weight}`)
    if (!(Number.isFinite(c.count) && c.count >= 0))
      throw new MiradorError('INTERNAL', `chain ${c.chain}: a rating count must be ≥ 0, not ${c.count}`)
    if (c.prior && !(c.prior.alpha >= 0 && c.prior.beta >= 0 && Number.isFinite(c.prior.alpha + c.prior.beta)))
      throw new MiradorError('INTERNAL', `chain ${c.chain}: a prior's α and β must be finite numbers ≥ 0`)
  }

  const samples: CandidateSample[] = candidates.map((c) => {
    const p = posterior(c.weight, c.count, n0, c.prior)
    const alpha = explore === 0 ? p.alpha : p.alpha / explore
    const beta = explore === 0 ? p.beta : p.beta / explore
    const mean = alpha / (alpha + beta)
    return { chain: c.chain, sample: explore === 0 ? mean : sampleBeta(options.rng, alpha, beta), alpha, beta, mean }
  })
  // the highest draw; ties (certain with explore 0 and equal weights) broken at random
  const top = Math.max(...samples.map((s) => s.sample))
  const tied = samples.map((s, i) => (s.sample === top ? i : -1)).filter((i) => i >= 0)
  const winner =
    tied.length === 1 ? tied[0]! : tied[Math.min(tied.length - 1, Math.floor(options.rng() * tied.length))]!
  const chosen = candidates[winner]!
  return { chain: chosen.chain, samples, reason: explain(candidates, samples, winner, explore, options.type) }
}

function evidence(c: Candidate, type: string | undefined): string {
  const what = type ? `'${type}' answers` : 'answers'
  const own =
    c.count === 0
      ? `no ${what} rated yet (weight ${f2(c.weight)})`
      : c.successes !== undefined
        ? `${c.successes} of ${c.count} ${what} rated ≥ 4 (weight ${f2(c.weight)})`
        : `weight ${f2(c.weight)} after ${c.count} rated ${what}`
  return c.prior ? `${own}; ${community(c.prior)}` : own
}

/** `community 78 % good (weight 6.2, round 0003 of garden-club)` */
export function community(p: CandidatePrior): string {
  return communityText({ share: p.share, weight: p.alpha + p.beta, source: p.source })
}

export function communityText(c: { share: number; weight: number; source: string }): string {
  return `community ${Math.round(c.share * 100)} % good (weight ${c.weight.toFixed(1)}, ${c.source})`
}

function explain(
  candidates: readonly Candidate[],
  samples: readonly CandidateSample[],
  winner: number,
  explore: number,
  type: string | undefined,
): string {
  const c = candidates[winner]!
  const s = samples[winner]!
  const head = `${c.chain}: ${evidence(c, type)}`
  if (candidates.length === 1) return `${head}; the only candidate`
  const others = samples
    .map((o, i) => ({ o, i }))
    .filter(({ i }) => i !== winner)
    .sort((a, b) => b.o.sample - a.o.sample)
  const next = others[0]!.o
  if (explore === 0)
    return (
      `${head}; the highest expected chance of a good rating of ${candidates.length} candidates ` +
      `(${f2(s.mean)}; next ${next.chain} ${f2(next.mean)}); exploration is off`
    )
  const tempered = explore < 1 ? `, exploration turned down to ${explore}` : ''
  return (
    `${head}; drew ${f2(s.sample)}, the highest of ${candidates.length} candidates ` +
    `(next ${next.chain} ${f2(next.sample)}${tempered})`
  )
}
