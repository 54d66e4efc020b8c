import { describe, expect, it } from '@jest/globals'
import { leastUseful, usefulness } from '../../src/plugins/memory/prune.js'
import type { StoredMemory } from '../../src/plugins/memory/types.js'

const DAY = 86_400_000
const now = 1_800_000_000_000
const m = (id: string, ageDays: number, recalls = 0, recalledDaysAgo?: number): StoredMemory => ({
  id,
  text: id,
  meta: {
    chain: 'c',
    runId: `r_${id}`,
    createdAt: now - ageDays * DAY,
    kind: 'turn',
    recalls,
    ...(recalledDaysAgo !== undefined ? { lastRecalledAt: now - recalledDaysAgo * DAY } : {}),
  },
})

describe('pruning', () => {
  it('drops old never-recalled memories before recent or often-recalled ones', () => {
    const all = [m('old-never', 200), m('old-often', 200, 9, 2), m('new-never', 1), m('mid-once', 60, 1, 50)]
    expect(leastUseful(all, 2, now)).toEqual(['old-never', 'mid-once'])
  })

  it('never drops the memory just made', () => {
    expect(leastUseful([m('a', 0), m('b', 0)], 1, now, new Set(['b']))).toEqual(['a'])
  })

  it('usefulness halves every 30 days since last use and grows with recalls', () => {
    expect(usefulness(m('x', 30), now)).toBeCloseTo(0.5, 6)
    expect(usefulness(m('y', 300, 3, 0), now)).toBeCloseTo(4, 6)
  })
})
