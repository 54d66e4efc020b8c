/**
 * The privacy accountant: spends add up in a sliding window, a contribution past the budget is
 * refused with the date budget frees up, and the window frees it (the clock is injected).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { Accountant } from '../../src/plugins/federation/accountant.js'

const DAY = 86_400_000
let home: string
let now: number
const clock = () => now

beforeEach(async () => {
  home = await mkdtemp(path.join(os.tmpdir(), 'mirador-budget-'))
  now = Date.UTC(2026, 11, 1)
})
afterEach(async () => rm(home, { recursive: true, force: true }))

async function refusal(p: Promise<unknown>): Promise<MiradorError> {
  try {
    await p
  } catch (err) {
    if (MiradorError.is(err)) return err
    throw err
  }
  throw new Error('expected a refusal')
}

describe('Accountant', () => {
  it('refuses past the budget, saying when it frees up, and frees after the period', async () => {
    const acc = new Accountant({ home, now: clock, policy: { budget: 4, periodDays: 30 } })
    for (let i = 0; i < 4; i++) {
      await acc.spend(`g/r${i}`, 1)
      now += DAY
    }
    expect((await acc.status()).leftEpsilon).toBe(0)
    const err = await refusal(acc.spend('g/r4', 1))
    expect(err.code).toBe('FEDERATION_BUDGET')
    // the first spend (made on Dec 1) leaves the 30-day window on Dec 31
    expect(err.message).toContain('2026-12-31T00:00:00.000Z')
    expect(err.details?.freesAt).toBe(Date.UTC(2026, 11, 31))
    now = Date.UTC(2026, 11, 31) - 1
    expect((await refusal(acc.spend('g/r4', 1))).code).toBe('FEDERATION_BUDGET')
    now = Date.UTC(2026, 11, 31)
    const s = await acc.spend('g/r4', 1)
    expect(s.spentEpsilon).toBe(4)
    expect(s.spends.map((x) => x.round)).toEqual(['g/r1', 'g/r2', 'g/r3', 'g/r4'])
  })

  it('a smaller ε still fits where a larger one does not; one larger than the whole budget never does', async () => {
    const acc = new Accountant({ home, now: clock, policy: { budget: 1, periodDays: 7 } })
    await acc.spend('a', 0.7)
    await expect(acc.check(0.5)).rejects.toThrow(/frees up on/)
    await acc.spend('b', 0.1)
    await acc.spend('c', 0.2) // 0.7 + 0.1 + 0.2 = 1 despite floating point
    expect((await refusal(acc.spend('d', 2))).message).toMatch(/more than the whole budget/)
  })

  it('counts δ too', async () => {
    const acc = new Accountant({ home, now: clock, policy: { budget: 10, periodDays: 7, deltaBudget: 2e-6 } })
    await acc.spend('a', 1, 1e-6)
    await acc.spend('b', 1, 1e-6)
    expect((await refusal(acc.spend('c', 1, 1e-6))).code).toBe('FEDERATION_BUDGET')
    await acc.spend('c', 1) // a Laplace contribution spends no δ
  })

  it('records only round ids, ε, δ and times, in a private file', async () => {
    const acc = new Accountant({ home, now: clock })
    await acc.spend('group/2026-12-01', 1)
    const file = path.join(home, 'federation', 'budget.json')
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    const ledger = JSON.parse(await readFile(file, 'utf8')) as { v: number; spends: object[] }
    expect(Object.keys(ledger).sort()).toEqual(['spends', 'v'])
    expect(ledger.spends).toEqual([{ round: 'group/2026-12-01', epsilon: 1, delta: 0, at: now }])
  })

  it('concurrent contributions never spend past the budget (the ledger is locked)', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 6 }, (_, i) => new Accountant({ home, now: clock }).spend(`r${i}`, 1)),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4)
    expect((await new Accountant({ home, now: clock }).status()).spends).toHaveLength(4)
  })

  it('a damaged ledger refuses rather than forgetting what was spent', async () => {
    const acc = new Accountant({ home, now: clock })
    await acc.spend('a', 1)
    await writeFile(path.join(home, 'federation', 'budget.json'), '{"v":1,"spends":[{"round":')
    const err = await refusal(acc.spend('b', 1))
    expect(err.code).toBe('FEDERATION_BUDGET')
    expect(err.message).toMatch(/is not JSON/)
  })

  it('refuses a policy out of range', () => {
    expect(() => new Accountant({ home, policy: { budget: 4, periodDays: 0 } })).toThrow(/period_days/)
    expect(() => new Accountant({ home, policy: { budget: -1, periodDays: 30 } })).toThrow(/budget/)
  })
})
