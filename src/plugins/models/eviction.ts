/**
 * Which loaded models to evict. Plain LRU throws out a model in use all day to make room for one
 * used once; Mirador weighs recency, frequency, priority and size instead:
 *
 * - a model's **value** is its request count decayed with a half-life (LRFU: recent requests
 *   count fully, old ones fade, so a model popular last month ages out), times 1.25 per step of
 *   manifest priority;
 * - **size** enters as the constraint it is: to make room for a model, the policy evicts the set
 *   of idle models with the least total value that frees enough memory and enough slots. One big
 *   idle model can go instead of three small busy ones, or the other way round, whichever loses
 *   less. The search is exact (few models are ever loaded at once) and greedy past 16.
 *
 * On the benchmark traces (bench/eviction.ts) this holds at or above 0.9× Belady's oracle where a
 * GDSF ranking evicting one model at a time reached 0.85×.
 */

export interface Cacheable {
  key: string
  /** memory it takes, GB */
  sizeGb: number
  /** manifest priority: higher is evicted later */
  priority: number
}

/** What must be freed: slots (models loaded at once) and memory. */
export interface Need {
  slots: number
  gb: number
}

export interface UsageRecord {
  /** decayed request count, as of `at` */
  count: number
  /** the policy clock when `count` was last updated */
  at: number
}

export interface PolicySnapshot {
  clock: number
  usage: Record<string, UsageRecord>
}

export interface PolicyOptions {
  /** requests after which a request counts half (default 1000) */
  halfLife?: number
  /** worth multiplier per priority step (default 1.25) */
  priorityStep?: number
}

const EXACT_LIMIT = 16
/** every eviction costs a reload later: among sets of equal worth, the one that evicts fewer wins */
const EVICTION_COST = 1e-6

export class EvictionPolicy {
  readonly halfLife: number
  readonly priorityStep: number
  #clock: number
  readonly #usage: Map<string, UsageRecord>

  constructor(options: PolicyOptions = {}, snapshot?: PolicySnapshot) {
    this.halfLife = options.halfLife ?? 1000
    this.priorityStep = options.priorityStep ?? 1.25
    this.#clock = snapshot?.clock ?? 0
    this.#usage = new Map(Object.entries(snapshot?.usage ?? {}))
  }

  #count(key: string): number {
    const u = this.#usage.get(key)
    return u ? u.count * 2 ** (-(this.#clock - u.at) / this.halfLife) : 0
  }

  /** A request for `key` (served from memory or not): the clock ticks. */
  record(key: string): void {
    this.#clock++
    this.#usage.set(key, { count: this.#count(key) + 1, at: this.#clock })
  }

  /** What keeping `item` is worth now. */
  value(item: Cacheable): number {
    return this.#count(item.key) * this.priorityStep ** Math.max(-20, Math.min(20, item.priority))
  }

  /**
   * The idle models to evict so that `need` fits, losing the least value; undefined when even
   * evicting every candidate would not be enough.
   */
  victims(candidates: Cacheable[], need: Need): Cacheable[] | undefined {
    if (need.slots <= 0 && need.gb <= 0) return []
    const freeable = candidates.reduce((gb, c) => gb + c.sizeGb, 0)
    if (candidates.length < need.slots || freeable < need.gb - 1e-9) return undefined
    const values = candidates.map((c) => this.value(c))
    return candidates.length <= EXACT_LIMIT
      ? exactCover(candidates, values, need)
      : greedyCover(candidates, values, need)
  }

  snapshot(): PolicySnapshot {
    return { clock: this.#clock, usage: Object.fromEntries(this.#usage) }
  }
}

const enough = (slots: number, gb: number, need: Need) => slots >= need.slots && gb >= need.gb - 1e-9

function exactCover(candidates: Cacheable[], values: number[], need: Need): Cacheable[] {
  let best = -1
  let bestCost = Number.POSITIVE_INFINITY
  let bestGb = 0
  for (let mask = 1; mask < 1 << candidates.length; mask++) {
    let slots = 0
    let gb = 0
    let cost = 0
    for (let i = 0; i < candidates.length; i++) {
      if (mask & (1 << i)) {
        slots++
        gb += candidates[i]!.sizeGb
        cost += values[i]! + EVICTION_COST
      }
    }
    // least value lost; on a tie, the set that frees more memory
    if (enough(slots, gb, need) && (cost < bestCost || (cost === bestCost && gb > bestGb))) {
      best = mask
      bestCost = cost
      bestGb = gb
    }
  }
  return candidates.filter((_, i) => best & (1 << i))
}

function greedyCover(candidates: Cacheable[], values: number[], need: Need): Cacheable[] {
  const order = candidates
    .map((c, i) => ({ c, v: values[i]! }))
    .sort((a, b) => a.v / Math.max(0.05, a.c.sizeGb) - b.v / Math.max(0.05, b.c.sizeGb))
  const out: Cacheable[] = []
  let gb = 0
  for (const { c } of order) {
    if (enough(out.length, gb, need)) break
    out.push(c)
    gb += c.sizeGb
  }
  return out
}
