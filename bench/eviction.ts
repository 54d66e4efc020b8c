/**
 * Eviction benchmark: request traces replayed against Mirador's policy
 * (src/plugins/models/eviction.ts), plain LRU, GDSF (one victim at a time, for reference), and
 * Belady's oracle (evict the model whose next request is furthest away, knowing the whole trace).
 * Hit ratio = requests served by a model already loaded. Budgets are in GB and in models loaded
 * at once, as in the manifest. Every request must be served, so a miss always loads its model.
 */
import { EvictionPolicy, type Cacheable } from '../src/plugins/models/eviction.js'
import { seededRandom as rng } from '../test/support/make-lora.js'

export type Model = Cacheable

export interface Trace {
  name: string
  models: Model[]
  requests: string[]
  memoryGb: number
  maxLoaded: number
}

function zipfSampler(n: number, s: number, rand: () => number): () => number {
  const weights = Array.from({ length: n }, (_, i) => 1 / (i + 1) ** s)
  const total = weights.reduce((a, b) => a + b, 0)
  const cdf: number[] = []
  let acc = 0
  for (const w of weights) cdf.push((acc += w / total))
  return () => {
    const u = rand()
    let lo = 0
    let hi = n - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cdf[mid]! < u) lo = mid + 1
      else hi = mid
    }
    return lo
  }
}

const SIZES = [0.4, 0.8, 1.3, 2, 2.2, 3.8, 4.1, 4.7, 5.5, 7.4, 8.5, 12]

/** Models with mixed sizes, shuffled against popularity, and priorities (a few pinned high). */
function models(n: number, rand: () => number): Model[] {
  const sizes = Array.from({ length: n }, (_, i) => SIZES[i % SIZES.length]!)
  for (let i = sizes.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1))
    ;[sizes[i], sizes[j]] = [sizes[j]!, sizes[i]!]
  }
  return sizes.map((sizeGb, i) => ({ key: `m${i}`, sizeGb, priority: rand() < 0.15 ? 1 : rand() < 0.15 ? -1 : 0 }))
}

export function traces(seed = 42, length = 20_000): Trace[] {
  const out: Trace[] = []
  {
    const rand = rng(seed)
    const ms = models(16, rand)
    const next = zipfSampler(ms.length, 1.0, rand)
    out.push({
      name: 'zipf s=1.0, 16 models',
      models: ms,
      requests: Array.from({ length }, () => ms[next()]!.key),
      memoryGb: 16,
      maxLoaded: 4,
    })
  }
  {
    const rand = rng(seed + 1)
    const ms = models(24, rand)
    const next = zipfSampler(ms.length, 0.8, rand)
    out.push({
      name: 'zipf s=0.8, 24 models',
      models: ms,
      requests: Array.from({ length }, () => ms[next()]!.key),
      memoryGb: 24,
      maxLoaded: 6,
    })
  }
  {
    // everyday Zipf traffic, and every 1,000 requests a burst of 60 on a model otherwise unused
    const rand = rng(seed + 2)
    const ms = models(16, rand)
    const next = zipfSampler(ms.length - 3, 1.0, rand)
    const burst = ms.slice(-3)
    const requests: string[] = []
    for (let i = 0; requests.length < length; i++) {
      if (i > 0 && i % 1000 === 0) {
        const b = burst[(i / 1000) % burst.length]!
        for (let k = 0; k < 60; k++) requests.push(rand() < 0.7 ? b.key : ms[next()]!.key)
      } else requests.push(ms[next()]!.key)
    }
    out.push({
      name: 'zipf with periodic bursts',
      models: ms,
      requests: requests.slice(0, length),
      memoryGb: 16,
      maxLoaded: 4,
    })
  }
  return out
}

type Chooser = (candidates: Model[], time: number) => Model

interface Replayer {
  touch(m: Model, t: number): void
  /** the models to evict so that `m` fits */
  evict(loaded: Model[], m: Model, t: number, trace: Trace, used: number): Model[]
}

/** Evicts one model at a time, as `choose` says, until the request fits. */
function oneByOne(touch: (m: Model, t: number) => void, choose: Chooser): Replayer {
  return {
    touch,
    evict(loaded, m, t, trace, used) {
      const left = [...loaded]
      const out: Model[] = []
      while (left.length > 0 && (used + m.sizeGb > trace.memoryGb || left.length >= trace.maxLoaded)) {
        const v = choose(left, t)
        left.splice(left.indexOf(v), 1)
        out.push(v)
        used -= v.sizeGb
      }
      return out
    },
  }
}

function replay(trace: Trace, r: Replayer): number {
  const byKey = new Map(trace.models.map((m) => [m.key, m]))
  const loaded = new Map<string, Model>()
  let used = 0
  let hits = 0
  trace.requests.forEach((key, t) => {
    const m = byKey.get(key)!
    r.touch(m, t)
    if (loaded.has(key)) {
      hits++
      return
    }
    for (const v of r.evict([...loaded.values()], m, t, trace, used)) {
      loaded.delete(v.key)
      used -= v.sizeGb
    }
    loaded.set(key, m)
    used += m.sizeGb
  })
  return hits / trace.requests.length
}

export function mirador(trace: Trace): number {
  const p = new EvictionPolicy()
  return replay(trace, {
    touch: (m) => p.record(m.key),
    evict: (loaded, m, _t, tr, used) =>
      (p.victims(loaded, { slots: loaded.length + 1 - tr.maxLoaded, gb: used + m.sizeGb - tr.memoryGb }) ??
        loaded) as Model[],
  })
}

export function gdsf(trace: Trace): number {
  let inflation = 0
  const freq = new Map<string, number>()
  const value = new Map<string, number>()
  return replay(
    trace,
    oneByOne(
      (m) => {
        const f = (freq.get(m.key) ?? 0) + 1
        freq.set(m.key, f)
        value.set(m.key, inflation + f / m.sizeGb)
      },
      (c) => {
        const v = c.reduce((a, b) => (value.get(a.key)! <= value.get(b.key)! ? a : b))
        inflation = Math.max(inflation, value.get(v.key)!)
        return v
      },
    ),
  )
}

export function lru(trace: Trace): number {
  const last = new Map<string, number>()
  return replay(
    trace,
    oneByOne(
      (m, t) => void last.set(m.key, t),
      (c) => c.reduce((a, b) => (last.get(a.key)! <= last.get(b.key)! ? a : b)),
    ),
  )
}

export function belady(trace: Trace): number {
  // next use of each request position, computed backwards
  const nextUse = new Array<number>(trace.requests.length)
  const seen = new Map<string, number>()
  for (let i = trace.requests.length - 1; i >= 0; i--) {
    nextUse[i] = seen.get(trace.requests[i]!) ?? Number.POSITIVE_INFINITY
    seen.set(trace.requests[i]!, i)
  }
  const upcoming = new Map<string, number>()
  return replay(
    trace,
    oneByOne(
      (m, t) => void upcoming.set(m.key, nextUse[t]!),
      // furthest next use first; among those never used again, the largest
      (c) =>
        c.reduce((a, b) => {
          const na = upcoming.get(a.key)!
          const nb = upcoming.get(b.key)!
          return na > nb || (na === nb && a.sizeGb >= b.sizeGb) ? a : b
        }),
    ),
  )
}

export function evictionRows(): { trace: string; mirador: number; gdsf: number; lru: number; belady: number }[] {
  return traces().map((t) => ({ trace: t.name, mirador: mirador(t), gdsf: gdsf(t), lru: lru(t), belady: belady(t) }))
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of evictionRows())
    console.log(
      r.trace.padEnd(28),
      'mirador',
      r.mirador.toFixed(3),
      'gdsf',
      r.gdsf.toFixed(3),
      'lru',
      r.lru.toFixed(3),
      'belady',
      r.belady.toFixed(3),
      'mirador/belady',
      (r.mirador / r.belady).toFixed(3),
    )
}
