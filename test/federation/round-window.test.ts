/**
 * The prior of a window of rounds: `pull` averages the newest verified results whose rounds opened
 * within the group's period_days of the newest one (members re-contribute their counts each round,
 * so the rounds measure the same thing with independent noise); the sd of the average is
 * √(Σ sd²) / R. A round older than the window, and a result that does not verify, are left out.
 */
import { cp, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createExchange } from '../../src/plugins/federation/exchange/index.js'
import { priorSource } from '../../src/plugins/federation/prior.js'
import { roundTotal } from '../../src/plugins/federation/round/prior.js'
import { contribute, pull, readRound, type Prior } from '../../src/plugins/federation/round/index.js'
import { makeGroup, ratings, type SimGroup } from '../support/federation-round.js'

const DAY = 86_400_000
let clock = Date.parse('2026-11-01T09:00:00Z')
let g: SimGroup
beforeAll(async () => {
  g = await makeGroup(3, { now: () => new Date(clock) })
})
afterAll(async () => g.cleanup())

const records = ratings([
  ['code', 'quick-deep', 6, 1],
  ['general', 'solo', 2, 1],
])

/** every member contributes, then pulls until the sum opens */
async function runRound(round: string): Promise<void> {
  for (const m of g.members) expect((await contribute(m.ctx, { records, accountant: m.accountant })).round).toBe(round)
  for (let pass = 0; pass < 3; pass++) for (const m of g.members) await pull(m.ctx)
  expect((await readRound(g.members[0]!.ctx.exchange, g.group, round)).result).toBeDefined()
}

const totalsOf = async (exchange: (typeof g.members)[0]['ctx']['exchange'], round: string) =>
  roundTotal(await readRound(exchange, g.group, round))!

describe('the prior of a window of rounds', () => {
  it('averages the rounds opened within period_days of the newest, with the sd of the average', async () => {
    await runRound('0001')
    clock += 35 * DAY // 0001 is now older than the 30-day window of the rounds below
    for (const round of ['0002', '0003', '0004']) {
      await runRound(round)
      clock += DAY
    }
    const x = g.members[0]!.ctx.exchange
    const parts = await Promise.all(['0002', '0003', '0004'].map((r) => totalsOf(x, r)))
    const report = await pull(g.members[1]!.ctx)
    expect(report.problems).toEqual([])
    const prior = JSON.parse(await readFile(report.priorFile!, 'utf8')) as Prior
    expect(prior).toMatchObject({ v: 1, group: 'garden-club', round: '0004', rounds: ['0002', '0003', '0004'] })
    expect(prior.members).toBe(3)
    prior.totals.forEach((t, k) =>
      expect(t).toBeCloseTo((parts[0]!.totals[k]! + parts[1]!.totals[k]! + parts[2]!.totals[k]!) / 3, 9),
    )
    // three rounds of equal noise: the average's sd is one round's / √3
    const one = Math.SQRT2 * 10 * Math.sqrt(3 / 2)
    parts.forEach((p) => expect(p.sd).toBeCloseTo(one, 6))
    expect(prior.noise.sd).toBeCloseTo(one / Math.sqrt(3), 2)
    // the rounds' noise is independent: the average differs from every round's total
    for (const p of parts) expect(prior.totals).not.toEqual(p.totals)
    expect(priorSource({ ...prior, rounds: prior.rounds })).toBe('rounds 0002–0004 of garden-club')
    expect(priorSource({ ...prior, rounds: ['0004'] })).toBe('round 0004 of garden-club')
  })

  it('leaves out a result that does not verify, and averages the others of the window', async () => {
    const copy = path.join(g.root, 'tampered')
    await cp(g.exchangeDir, copy, { recursive: true })
    const file = path.join(copy, 'rounds', '0003', 'result.json')
    const result = JSON.parse(await readFile(file, 'utf8')) as { total: number[] }
    result.total[0]! += 50
    await writeFile(file, JSON.stringify(result))
    const m = g.members[2]!
    const exchange = createExchange(copy, { home: m.home, member: m.id })
    const report = await pull({ ...m.ctx, exchange })
    expect(report.problems.map((p) => p.file)).toEqual(['rounds/0003/result.json'])
    expect(report.prior).toMatchObject({ round: '0004', rounds: ['0002', '0004'] })
    const parts = await Promise.all(['0002', '0004'].map((r) => totalsOf(exchange, r)))
    expect(report.prior!.totals[0]).toBeCloseTo((parts[0]!.totals[0]! + parts[1]!.totals[0]!) / 2, 9)
    expect(report.prior!.noise.sd).toBeCloseTo(Math.sqrt(parts[0]!.sd ** 2 + parts[1]!.sd ** 2) / 2, 2)
  })
})
