import { describe, expect, it } from '@jest/globals'
import { EvictionPolicy, type Cacheable } from '../../src/plugins/models/eviction.js'

const m = (key: string, sizeGb: number, priority = 0): Cacheable => ({ key, sizeGb, priority })

function used(p: EvictionPolicy, uses: Record<string, number>) {
  for (const [k, n] of Object.entries(uses)) for (let i = 0; i < n; i++) p.record(k)
}

describe('eviction policy', () => {
  it('evicts the least used model when a slot is needed', () => {
    const p = new EvictionPolicy()
    used(p, { a: 10, b: 2, c: 5 })
    expect(p.victims([m('a', 1), m('b', 1), m('c', 1)], { slots: 1, gb: 0 })!.map((v) => v.key)).toEqual(['b'])
  })

  it('weighs size against use: one big idle model goes rather than two small busy ones', () => {
    const p = new EvictionPolicy()
    used(p, { big: 3, s1: 2, s2: 2 })
    // 4 GB must be freed: big (value 3) frees it alone; s1 + s2 (value 4) would free only 2 GB anyway
    expect(p.victims([m('big', 5), m('s1', 1), m('s2', 1)], { slots: 0, gb: 4 })!.map((v) => v.key)).toEqual(['big'])
    // but when the big one is used far more, the two small ones go if they free enough
    const q = new EvictionPolicy()
    used(q, { big: 20, s1: 2, s2: 2 })
    expect(
      q
        .victims([m('big', 5), m('s1', 2), m('s2', 2)], { slots: 0, gb: 4 })!
        .map((v) => v.key)
        .sort(),
    ).toEqual(['s1', 's2'])
  })

  it('priority makes a model worth more', () => {
    const p = new EvictionPolicy()
    used(p, { a: 4, b: 4 })
    expect(p.victims([m('a', 1, 2), m('b', 1, 0)], { slots: 1, gb: 0 })!.map((v) => v.key)).toEqual(['b'])
    expect(p.victims([m('a', 1, -2), m('b', 1, 0)], { slots: 1, gb: 0 })!.map((v) => v.key)).toEqual(['a'])
  })

  it('old use fades: a model popular long ago yields to one in use now', () => {
    const p = new EvictionPolicy({ halfLife: 10 })
    used(p, { old: 20 })
    used(p, { other: 60 })
    used(p, { recent: 5 })
    expect(p.value(m('old', 1))).toBeLessThan(p.value(m('recent', 1)))
    expect(p.victims([m('old', 1), m('recent', 1)], { slots: 1, gb: 0 })!.map((v) => v.key)).toEqual(['old'])
  })

  it('says when nothing it may evict is enough, and evicts nothing when nothing is needed', () => {
    const p = new EvictionPolicy()
    expect(p.victims([m('a', 1)], { slots: 0, gb: 5 })).toBeUndefined()
    expect(p.victims([], { slots: 1, gb: 0 })).toBeUndefined()
    expect(p.victims([m('a', 1)], { slots: 0, gb: 0 })).toEqual([])
  })

  it('what it learned survives a snapshot (the next process starts where this one ended)', () => {
    const p = new EvictionPolicy()
    used(p, { a: 7, b: 1 })
    const q = new EvictionPolicy({}, JSON.parse(JSON.stringify(p.snapshot())))
    expect(q.value(m('a', 1))).toBeCloseTo(p.value(m('a', 1)), 10)
    expect(q.victims([m('a', 1), m('b', 1)], { slots: 1, gb: 0 })!.map((v) => v.key)).toEqual(['b'])
  })

  it('past 16 candidates it still frees enough (greedy)', () => {
    const p = new EvictionPolicy()
    const many = Array.from({ length: 20 }, (_, i) => m(`m${i}`, 1))
    for (const c of many) used(p, { [c.key]: Number(c.key.slice(1)) + 1 })
    const v = p.victims(many, { slots: 3, gb: 2 })!
    expect(v.map((x) => x.key)).toEqual(['m0', 'm1', 'm2'])
  })
})

describe('eviction policy with no history', () => {
  it('evicts no more than it must when every model is worth the same', () => {
    const p = new EvictionPolicy()
    const v = p.victims([m('a', 1), m('b', 1)], { slots: 1, gb: 0 })!
    expect(v).toHaveLength(1)
  })
})
