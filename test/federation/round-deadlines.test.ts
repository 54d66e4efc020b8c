/**
 * A round's deadlines (round_hours, default 24): past the commit deadline any member closes the
 * commit phase with whoever committed; a closing short of t fails the round (failed.json), and the
 * next contribution opens the next round.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import {
  aggregateRound,
  contribute,
  pull,
  readRound,
  verifyExchange,
} from '../../src/plugins/federation/round/index.js'
import { makeGroup, ratings, type SimGroup } from '../support/federation-round.js'

const HOUR = 3_600_000
let clock = Date.parse('2026-12-07T09:00:00Z')
let g: SimGroup
beforeAll(async () => {
  g = await makeGroup(4, { now: () => new Date(clock) })
})
afterAll(async () => g.cleanup())

const records = ratings([['code', 'solo', 3, 1]])
const give = (i: number) => contribute(g.members[i]!.ctx, { records, accountant: g.members[i]!.accountant })

describe('round deadlines', () => {
  it('closes a phase at its deadline, fails a round short of t, and opens the next one', async () => {
    await give(0)
    const open = (await readRound(g.members[0]!.ctx.exchange, g.group, '0001')).open!.body
    expect(open.t).toBe(3)
    expect(open.commit_until).toBe('2026-12-08T09:00:00.000Z')
    // before the deadline nothing closes
    clock += 23 * HOUR
    expect((await pull(g.members[1]!.ctx)).waiting).toEqual([
      expect.objectContaining({ round: '0001', phase: 'commit', have: 1, need: 3, missing: ['m02', 'm03', 'm04'] }),
    ])
    // past it, a member that never contributed closes it: 1 commit is short of t = 3
    clock += 2 * HOUR
    const r = await pull(g.members[3]!.ctx)
    expect(r.steps).toEqual([{ round: '0001', step: 'failed', wrote: true }])
    const failed = await readRound(g.members[0]!.ctx.exchange, g.group, '0001')
    expect(failed.failed?.body).toEqual({
      phase: 'commit',
      reason: 'only 1 members committed, fewer than the threshold 3',
    })
    expect(failed.closedCommits).toBeUndefined()

    // the next contribution opens round 0002; three commit, the commit phase closes at the deadline
    expect((await give(1)).round).toBe('0002')
    await give(2)
    await give(3)
    clock += 25 * HOUR
    const moved = await aggregateRound(g.members[1]!.ctx, undefined)
    expect(moved.steps.map((s) => s.step)).toEqual(['closed-commits', 'bundle'])
    expect(moved.waiting).toMatchObject({ phase: 'mask', have: 1, missing: ['m03', 'm04'] })
    expect((await verifyExchange(g.members[0]!.ctx.exchange, g.group)).problems).toEqual([])
  })
})
