/**
 * What the community prior buys a new member (issue 14's benchmark), and at what privacy cost.
 *
 * A simulated federation: 50 members, 5 query types, 4 chains. For each type one chain is the
 * majority's hidden best; 40 of the 50 members (80 %) share the majority's, each of the other 10
 * has another favourite per type (drawn at random among the other chains). A member rates an answer
 * of its favourite chain good (≥ 4) with probability 0.8, any other chain's with 0.4. Each member
 * has a week of ratings: 50 queries of uniform types, routed by the learner's own router
 * (bandit.ts `choose`, Thompson sampling with a seeded rng) over its own states, each rating moving
 * the state as the learner does (journal.ts `updateWeight`), so its counts look like a real member's.
 *
 * Its contribution is the counts vector (vector.ts `countsVector`, over the group's vocabulary, from
 * the rating records), clipped and noised by dp.ts `privatize` with the round's parameters
 * (`roundParams`: Laplace, clip 10, ε 1 or 0.1; `local` noise or `distributed` among k = t = 26, the
 * round's threshold for 50 members). The contributions are summed in the clear here: secure
 * aggregation opens exactly this sum (its masks cancel; fixed-point rounding is below 1/8000 per
 * member), so it would change the time, not the numbers. The sum's noise sd per slot is
 * `noiseSd(params, 50)`, as prior.json states it.
 *
 * Rounds of a window: members re-contribute their counts every round, and the prior is the average
 * of the window's R rounds (round/prior.ts; the default budget holds 4 rounds of ε 1 per 30 days).
 * The bench draws R rounds, each a fresh noise draw on the SAME counts (members keep their week of
 * ratings: a conservative choice, since a member who keeps rating between rounds only sharpens its
 * proportions, and the clip keeps its weight at 10 ratings), and averages them; the noise sd of the
 * average is sd/√R. R = 1 is the newest of those rounds, so R = 1 and R = 4 are paired. `--tune`
 * also lets members keep rating (a week more before each round: `R 4+`), where the newest round
 * alone holds the most ratings.
 *
 * A NEW member (no ratings; its hidden best is the majority's) then routes its first 100 queries,
 * 20 per type in a random order, rating each with the same model and learning as it goes, once
 * without a prior and once with the community prior (federation/prior.ts `communityPrior` on each
 * candidate, faded by its own ratings, weight w = DEFAULT_PRIOR_WEIGHT), on the same world draws.
 * Reported: the share of those 100 routed to its best chain, with and without, and the difference in
 * points, over 200 repetitions (new worlds, members and noise each time): the median and the
 * interquartile range.
 *
 * Randomness is seeded (the world, each router, and the noise's uniforms), so a run prints the same
 * numbers; the noise's distribution is the product's (privatize with a seeded uniform in place of
 * the CSPRNG).
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/federation-prior.ts [--reps 200] [--tune]
 *
 * `--tune` also compares the prior's weight w (pseudo-ratings of a fully reliable prior), the
 * number of members, and the reliability r = clamp(1 − f·sd / (P + N)) for f = 2 (prior.ts) and the
 * looser f = 1, with 4 rounds, for a majority and a minority newcomer.
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { choose, seededRandom, type Candidate } from '../src/plugins/learner/bandit.js'
import { DEFAULT_PRIOR_STRENGTH, updateWeight } from '../src/plugins/learner/journal.js'
import type { WeightState } from '../src/plugins/learner/types.js'
import {
  noiseSd,
  PRIVACY_DEFAULTS,
  privacyParams,
  privatize,
  roundParams,
  type Noise,
} from '../src/plugins/federation/dp.js'
import { communityPrior, DEFAULT_PRIOR_WEIGHT } from '../src/plugins/federation/prior.js'
import { countsVector, type LearnerRecord } from '../src/plugins/federation/vector.js'
import { makeVocabulary, slotOf } from '../src/plugins/federation/vocabulary.js'

export const MEMBERS = 50
const TYPES = 5
const CHAINS = 4
const MAJORITY = 0.8
const P_FAVOURITE = 0.8
const P_OTHER = 0.4
const WEEK = 50
const NEW_PER_TYPE = 20
const CLIP = 10
/** a round's t for n members: max(threshold 2, ⌊n/2⌋ + 1) */
export const roundT = (members: number) => Math.max(2, Math.floor(members / 2) + 1)

const types = Array.from({ length: TYPES }, (_, i) => `type-${i}`)
const chains = Array.from({ length: CHAINS }, (_, i) => `chain-${i}`)
const vocabulary = makeVocabulary(types, chains)

type States = WeightState[][]
const freshStates = (): States => types.map(() => chains.map(() => ({ weight: 0.5, count: 0 }) satisfies WeightState))

/** One routed, rated query of type `t`: the chain chosen (its index) and whether it was rated good. */
function route(
  states: States,
  t: number,
  favourite: number,
  rng: { router: () => number; world: () => number },
  prior?: (t: number, c: number, own: number) => Candidate['prior'],
): { chain: number; good: boolean } {
  const candidates: Candidate[] = chains.map((chain, c) => {
    const s = states[t]![c]!
    const p = prior?.(t, c, s.count)
    return { chain, weight: s.weight, count: s.count, ...(p ? { prior: p } : {}) }
  })
  const chain = chains.indexOf(choose(candidates, { rng: rng.router, type: types[t]! }).chain)
  const good = rng.world() < (chain === favourite ? P_FAVOURITE : P_OTHER)
  states[t]![chain] = updateWeight(states[t]![chain]!, good, DEFAULT_PRIOR_STRENGTH)
  return { chain, good }
}

/**
 * A member's weeks of use: its rating records (the learner journal's lines, as vector.ts reads
 * them) at the end of each week, cumulative (week 1 is the same whatever the number of weeks).
 */
function memberWeeks(favourites: number[], seed: number, weeks: number): LearnerRecord[][] {
  const rng = { world: seededRandom(seed * 7 + 1), router: seededRandom(seed * 7 + 2) }
  const states = freshStates()
  const records: LearnerRecord[] = []
  const ends: LearnerRecord[][] = []
  for (let q = 0; q < weeks * WEEK; q++) {
    const t = Math.floor(rng.world() * TYPES)
    const { chain, good } = route(states, t, favourites[t]!, rng)
    const rating = good ? 4 + Math.floor(rng.world() * 2) : 1 + Math.floor(rng.world() * 3)
    records.push({ kind: 'rating', runId: `run-${q}`, chain: chains[chain], type: types[t], rating, at: q })
    if ((q + 1) % WEEK === 0) ends.push([...records])
  }
  return ends
}

export interface Setting {
  epsilon: number
  noise: Noise
}

export interface World {
  best: number[]
  /** another favourite per type (not the majority's): a minority newcomer's */
  other: number[]
  /** each member's counts vector after its first week, before clipping and noise */
  counts: number[][]
  /** per week w (0-based): each member's counts after w + 1 weeks (members who keep rating between rounds) */
  weekly: number[][][]
}

/** A repetition's federation: the majority's best chains and the members' weeks. */
export function makeWorld(rep: number, members = MEMBERS, weeks = 1): World {
  const rng = seededRandom(1_000_003 * (rep + 1))
  const best = types.map(() => Math.floor(rng() * CHAINS))
  const another = () => best.map((b) => (b + 1 + Math.floor(rng() * (CHAINS - 1))) % CHAINS)
  const byMember = Array.from({ length: members }, (_, m) => {
    const favourites = m < Math.round(MAJORITY * members) ? best : another()
    return memberWeeks(favourites, rep * 100_000 + m, weeks).map((r) => countsVector(r, vocabulary))
  })
  const weekly = Array.from({ length: weeks }, (_, w) => byMember.map((c) => c[w]!))
  return { best, other: another(), counts: weekly[0]!, weekly }
}

/**
 * The averages of the newest 1…R of R opened sums (fresh noise draws on the same counts, or with
 * `grow` on each round's counts: a week more of ratings each), and their noise sd per slot.
 */
export function averagedSum(
  world: World,
  setting: Setting,
  uniform: () => number,
  rounds: number,
  grow = false,
): { totals: number[]; sd: number; shares: number }[] {
  const sums = Array.from({ length: rounds }, (_, i) =>
    openedSum(grow ? world.weekly[i]! : world.counts, setting, uniform),
  )
  return sums.map((_, i) => {
    const r = i + 1
    const totals = sums[0]!.totals.map((_, k) => sums.slice(rounds - r).reduce((a, x) => a + x.totals[k]!, 0) / r)
    return { totals, sd: sums[0]!.sd / Math.sqrt(r), shares: sums[0]!.shares }
  })
}

/** The opened sum of the members' private contributions for one setting, and its noise sd per slot. */
export function openedSum(
  counts: number[][],
  setting: Setting,
  uniform: () => number,
): { totals: number[]; sd: number; shares: number } {
  const group = {
    params: privacyParams({ mechanism: 'laplace', epsilon: setting.epsilon, clip: CLIP }),
    noise: setting.noise,
  }
  const params = roundParams(group, roundT(counts.length))
  const totals = new Array<number>(counts[0]!.length).fill(0)
  for (const v of counts) privatize(v, params, uniform).forEach((x, i) => (totals[i]! += x))
  return { totals, sd: noiseSd(params, counts.length), shares: params.shares }
}

/**
 * A new member's first 100 queries (20 per type, shuffled): the share routed to its best chain
 * (`best`: the majority's, or for a minority newcomer another).
 */
export function newMember(
  best: number[],
  seed: number,
  opened?: { totals: number[]; sd: number; w: number; factor?: number },
): number {
  const rng = { world: seededRandom(seed * 7 + 3), router: seededRandom(seed * 7 + 4) }
  const order = types.flatMap((_, t) => new Array<number>(NEW_PER_TYPE).fill(t))
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng.world() * (i + 1))
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  const prior = opened
    ? (t: number, c: number, own: number) => {
        const slot = slotOf(vocabulary, types[t]!, chains[c]!)
        // sd enters communityPrior only through r = 1 − 2·sd/(P + N): f·sd/2 gives r = 1 − f·sd/(P + N)
        const sd = (opened.sd * (opened.factor ?? 2)) / 2
        const p = communityPrior(opened.totals[slot]!, opened.totals[slot + 1]!, sd, own, opened.w)
        return { alpha: p.alpha, beta: p.beta, share: p.share, source: 'bench' }
      }
    : undefined
  const states = freshStates()
  let hits = 0
  for (const t of order) if (route(states, t, best[t]!, rng, prior).chain === best[t]) hits++
  return hits / order.length
}

export interface PriorResult extends Setting {
  w: number
  members: number
  /** rounds averaged */
  rounds: number
  /** f in the reliability r = clamp(1 − f·sd / (P + N)); 2 is prior.ts's */
  factor: number
  /** members rated a week more between rounds */
  grow: boolean
  /** per repetition: share with the prior, without it, and the difference (points) */
  with: number[]
  without: number[]
  diff: number[]
  /** the same for a newcomer whose favourites are not the majority's */
  minorityDiff: number[]
  /** the noise sd per slot of the averaged sums */
  sd: number
  /** the round's split of the noise (1: local) */
  shares: number
}

export interface PriorBenchOptions {
  reps?: number
  settings?: Setting[]
  weights?: number[]
  members?: number
  /** also measure a minority newcomer */
  minority?: boolean
  /** the numbers of rounds averaged (R fresh noise draws, the first R of max(rounds)) */
  rounds?: number[]
  /** reliability factors f to compare (2: prior.ts's) */
  factors?: number[]
  /** members keep rating: a week more of ratings before each round after the first */
  grow?: boolean
}

export const SETTINGS: Setting[] = [
  { epsilon: 1, noise: 'distributed' },
  { epsilon: 1, noise: 'local' },
  { epsilon: 0.1, noise: 'distributed' },
  { epsilon: 0.1, noise: 'local' },
]

/** Runs the simulation: one result per setting and weight, paired over the same repetitions. */
export function benchPrior({
  reps = 200,
  settings = SETTINGS,
  weights = [DEFAULT_PRIOR_WEIGHT],
  members = MEMBERS,
  minority = false,
  rounds = [1],
  factors = [2],
  grow = false,
}: PriorBenchOptions = {}): PriorResult[] {
  const results = settings.flatMap((s) =>
    rounds.flatMap((R) =>
      factors.flatMap((factor) =>
        weights.map(
          (w): PriorResult => ({
            ...s,
            w,
            members,
            rounds: R,
            factor,
            grow,
            with: [],
            without: [],
            diff: [],
            minorityDiff: [],
            sd: 0,
            shares: 1,
          }),
        ),
      ),
    ),
  )
  for (let rep = 0; rep < reps; rep++) {
    const world = makeWorld(rep, members, grow ? Math.max(...rounds) : 1)
    const without = newMember(world.best, rep)
    const minorityWithout = minority ? newMember(world.other, rep) : 0
    const noise = seededRandom(2_000_003 * (rep + 1))
    for (const s of settings) {
      const averaged = averagedSum(world, s, noise, Math.max(...rounds), grow)
      for (const r of results.filter((x) => x.epsilon === s.epsilon && x.noise === s.noise)) {
        const opened = { ...averaged[r.rounds - 1]!, w: r.w, factor: r.factor }
        const share = newMember(world.best, rep, opened)
        r.with.push(share)
        r.without.push(without)
        r.diff.push(100 * (share - without))
        if (minority) r.minorityDiff.push(100 * (newMember(world.other, rep, opened) - minorityWithout))
        r.sd = opened.sd
        r.shares = opened.shares
      }
    }
  }
  return results
}

/** `ε 1 a round, 4 rounds per 30 days`: what each contribution spends of the default budget (dp.ts). */
export function priorPrivacyCost(s: Setting): string {
  const rounds = Math.floor(PRIVACY_DEFAULTS.budget / s.epsilon + 1e-9)
  return `ε ${s.epsilon} a round, ${rounds} rounds per ${PRIVACY_DEFAULTS.periodDays} days`
}

/** The q-quantile (0–1) of xs, by linear interpolation. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  const i = (s.length - 1) * q
  const lo = Math.floor(i)
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo)
}

const pct = (x: number) => `${(100 * x).toFixed(0)} %`
/** `52 % (45–60)`: the median and the interquartile range */
export const spread = (xs: number[], f: (x: number) => string) =>
  `${f(quantile(xs, 0.5))} (${f(quantile(xs, 0.25))}–${f(quantile(xs, 0.75))})`
export const sharePct = (xs: number[]) => spread(xs, pct)
export const points = (xs: number[]) => spread(xs, (x) => x.toFixed(0))

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const args = process.argv.slice(2)
  const at = args.indexOf('--reps')
  const reps = at >= 0 ? Number(args[at + 1]) : 200
  const t0 = performance.now()
  const print = (results: PriorResult[]) => {
    for (const r of results)
      console.log(
        `  ${String(r.members).padStart(3)} members ε ${String(r.epsilon).padEnd(4)} ${r.noise.padEnd(11)} ` +
          `R ${r.rounds}${r.grow ? '+' : ''} f ${r.factor} w ${String(r.w).padEnd(3)} ` +
          `sd ${r.sd.toFixed(0).padStart(4)}  with ${sharePct(r.with)}  ` +
          `without ${sharePct(r.without)}  difference ${points(r.diff)} points (mean ${mean(r.diff).toFixed(1)})` +
          (r.minorityDiff.length
            ? `; minority newcomer ${points(r.minorityDiff)} (mean ${mean(r.minorityDiff).toFixed(1)})`
            : ''),
      )
  }
  console.log(
    `${TYPES} types × ${CHAINS} chains, ${reps} repetitions; share of a new member's first 100 queries ` +
      `routed to its best chain, median (interquartile range)`,
  )
  if (!args.includes('--tune')) {
    print(benchPrior({ reps, rounds: [1, 4] }))
    print(benchPrior({ reps, members: 200, settings: [SETTINGS[0]!], rounds: [1, 4] }))
  } else {
    const one: Setting[] = [{ epsilon: 1, noise: 'distributed' }]
    console.log('the weight w, and a newcomer whose favourites are not the majority’s:')
    for (const members of [50, 200])
      print(benchPrior({ reps, members, settings: one, weights: [5, 10, 20, 40], minority: true }))
    console.log('the number of members:')
    for (const members of [100, 150, 300]) print(benchPrior({ reps, members, settings: one, minority: true }))
    console.log('4 rounds averaged, the reliability factor f (2: prior.ts; 1: looser), and the weight w:')
    for (const members of [50, 200])
      print(
        benchPrior({ reps, members, settings: one, rounds: [4], factors: [2, 1], weights: [10, 20], minority: true }),
      )
    console.log('4 rounds, members rating a week more between rounds (R 4+):')
    for (const members of [50, 200])
      print(benchPrior({ reps, members, settings: one, rounds: [1, 4], factors: [2, 1], minority: true, grow: true }))
  }
  console.log(`  (${((performance.now() - t0) / 1000).toFixed(1)} s)`)
}
