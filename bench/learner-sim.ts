/**
 * The learner's routing benchmark: a simulated user, as the issue describes it.
 *
 * 5 query types, 4 chains. For each type one chain, drawn at random, is the hidden best: this user
 * rates its answers ≥ 4 with probability 0.8; the other chains get ≥ 4 with a probability drawn
 * once per seed and chain, uniform in [0.3, 0.5]. Every query's type is uniform over the 5. All
 * weights start at 0.5 (as in fresh chain files). Each query is routed by the product's `choose`
 * (bandit.ts) over the 4 chains' states for its type, rated by the user (4 or 5 for a success,
 * 1–3 otherwise), and the rating moves the state with the product's `updateWeight` (journal.ts).
 * After `warmup` ratings (50: about a week of use) the next `evaluate` queries (100) are
 * measured: the share routed to the type's best chain. The user keeps rating during those too.
 * The share is averaged over `seeds` seeds (100).
 *
 * The world (best chains, their probabilities, query types, rating draws) comes from one seeded
 * stream and the router's draws from another, so two settings are compared on the same users.
 *
 * `optimalShare` computes, by dynamic programming, the best share ANY router could reach on one
 * type of this simulation, knowing its exact structure (one chain at 0.8, three uniform in
 * [0.3, 0.5]) and acting Bayes-optimally, with warm-up and evaluation fixed at their expected 10
 * and 20 queries per type: an upper reference for what the product's router can reach.
 *
 *   node --import ./test/support/ts-loader.mjs bench/learner-sim.ts [--seeds 100] [--explore 0.1] [--bound]
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { choose, seededRandom } from '../src/plugins/learner/bandit.js'
import { DEFAULT_PRIOR_STRENGTH, updateWeight } from '../src/plugins/learner/journal.js'
import type { WeightState } from '../src/plugins/learner/types.js'

export interface SimulateOptions {
  seeds?: number
  /** ratings before measuring */
  warmup?: number
  /** queries measured */
  evaluate?: number
  /** the learner's `explore` setting (default 1: plain Thompson sampling) */
  explore?: number
  priorStrength?: number
  types?: number
  chains?: number
  /** the first seed (seeds are firstSeed, firstSeed + 1, …) */
  firstSeed?: number
}

export interface SimulateResult {
  /** mean over seeds of the share of measured queries routed to their type's best chain */
  share: number
  perSeed: number[]
  /** standard error of `share` */
  stderr: number
}

export const BEST_P = 0.8
export const OTHER_P: readonly [number, number] = [0.3, 0.5]

export function simulateUser(options: SimulateOptions = {}): SimulateResult {
  const {
    seeds = 100,
    warmup = 50,
    evaluate = 100,
    explore,
    priorStrength = DEFAULT_PRIOR_STRENGTH,
    types = 5,
    chains = 4,
    firstSeed = 0,
  } = options
  const names = Array.from({ length: chains }, (_, i) => `chain-${i}`)
  const perSeed: number[] = []
  for (let s = firstSeed; s < firstSeed + seeds; s++) {
    const world = seededRandom(s * 2 + 1)
    const router = seededRandom(s * 2 + 2)
    const best: number[] = []
    const p: number[][] = []
    for (let t = 0; t < types; t++) {
      best.push(Math.floor(world() * chains))
      p.push(names.map((_, c) => (c === best[t] ? BEST_P : OTHER_P[0] + (OTHER_P[1] - OTHER_P[0]) * world())))
    }
    const state: WeightState[][] = Array.from({ length: types }, () => names.map(() => ({ weight: 0.5, count: 0 })))
    let hits = 0
    for (let q = 0; q < warmup + evaluate; q++) {
      const t = Math.floor(world() * types)
      const picked = choose(
        names.map((chain, c) => ({ chain, weight: state[t]![c]!.weight, count: state[t]![c]!.count })),
        { rng: router, priorStrength, ...(explore !== undefined ? { explore } : {}) },
      )
      const c = names.indexOf(picked.chain)
      if (q >= warmup && c === best[t]) hits++
      const good = world() < p[t]![c]!
      const u = world()
      const rating = good ? 4 + Math.floor(u * 2) : 1 + Math.floor(u * 3)
      state[t]![c] = updateWeight(state[t]![c]!, rating >= 4, priorStrength)
    }
    perSeed.push(hits / evaluate)
  }
  const share = perSeed.reduce((a, b) => a + b, 0) / perSeed.length
  const variance = perSeed.reduce((a, b) => a + (b - share) ** 2, 0) / Math.max(1, perSeed.length - 1)
  return { share, perSeed, stderr: Math.sqrt(variance / perSeed.length) }
}

/**
 * The Bayes-optimal expected share for ONE type with `warmup` then `evaluate` queries of it and
 * 4 chains, for a router that knows the simulation's structure (see the file's comment). Exact
 * dynamic programming over the (success, failure) counts of the 4 chains, up to symmetry; about
 * 1.7 million states and 10 s for 10 + 20.
 */
export function optimalShare({
  warmup = 10,
  evaluate = 20,
  chains = 4,
}: { warmup?: number; evaluate?: number; chains?: number } = {}): number {
  const horizon = warmup + evaluate
  const K = 200 // midpoint rule over [0.3, 0.5] for the bad chains' unknown probability
  const integ = new Map<number, number>()
  /** ∫ p^s (1−p)^f dp over U[0.3, 0.5] */
  const bad = (s: number, f: number): number => {
    const k = s * 1024 + f
    let v = integ.get(k)
    if (v === undefined) {
      v = 0
      for (let i = 0; i < K; i++) {
        const q = OTHER_P[0] + ((OTHER_P[1] - OTHER_P[0]) * (i + 0.5)) / K
        v += q ** s * (1 - q) ** f
      }
      v /= K
      integ.set(k, v)
    }
    return v
  }
  const pBest = (st: number[][]): number[] => {
    const l = st.map(([s, f]) => (BEST_P ** s! * (1 - BEST_P) ** f!) / bad(s!, f!))
    const z = l.reduce((a, b) => a + b, 0)
    return l.map((x) => x / z)
  }
  const memo = new Map<string, number>()
  const value = (st: number[][], n: number): number => {
    if (n === horizon) return 0
    const key = `${st
      .map(([s, f]) => s! * 64 + f!)
      .sort((a, b) => a - b)
      .join(',')}|${n}`
    const hit = memo.get(key)
    if (hit !== undefined) return hit
    const pb = pBest(st)
    let best = -Infinity
    for (let i = 0; i < st.length; i++) {
      // same state as an earlier chain
      if (st.slice(0, i).some(([s, f]) => s === st[i]![0] && f === st[i]![1])) continue
      const [s, f] = st[i] as [number, number]
      const pSuccess = pb[i]! * BEST_P + (1 - pb[i]!) * (bad(s + 1, f) / bad(s, f))
      const up = st.map((x, j) => (j === i ? [s + 1, f] : x))
      const down = st.map((x, j) => (j === i ? [s, f + 1] : x))
      const v = (n >= warmup ? pb[i]! : 0) + pSuccess * value(up, n + 1) + (1 - pSuccess) * value(down, n + 1)
      if (v > best) best = v
    }
    memo.set(key, best)
    return best
  }
  return (
    value(
      Array.from({ length: chains }, () => [0, 0]),
      0,
    ) / evaluate
  )
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`

function main(): void {
  const args = process.argv.slice(2)
  const arg = (name: string) => {
    const i = args.indexOf(name)
    return i >= 0 ? args[i + 1] : undefined
  }
  const seeds = Number(arg('--seeds') ?? 100)
  const one = arg('--explore')
  const settings = one !== undefined ? [Number(one)] : [1, 0.5, 0.25, 0.1, 0.05, 0]
  console.log(
    `Simulated user: 5 query types, 4 chains, best chain rated ≥ 4 with p = 0.8, others U[0.3, 0.5]; ${seeds} seeds.`,
  )
  console.log("Share of the 100 queries after 50 ratings routed to the best chain, by the learner's explore setting:")
  for (const explore of settings) {
    const t0 = performance.now()
    const r = simulateUser({ seeds, explore })
    const ms = (performance.now() - t0).toFixed(0)
    console.log(`  explore ${String(explore).padEnd(5)} ${pct(r.share)} ± ${pct(r.stderr)}   (${ms} ms)`)
  }
  if (args.includes('--bound')) {
    const t0 = performance.now()
    const share = pct(optimalShare())
    const s = ((performance.now() - t0) / 1000).toFixed(1)
    console.log(`  Bayes-optimal router that knows the simulation (10 + 20 queries per type): ${share}   (${s} s)`)
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main()
