/**
 * A federation round on a folder exchange, through the library: 12 in-process members (each its
 * own $MIRADOR_HOME), 2 dropping after they committed; the opened total is the sum of the 10
 * survivors' noised vectors; every file that is tampered with, replayed from another round or
 * signed by an outsider is rejected with its reason and never counts.
 */
import { generateKeyPairSync } from 'node:crypto'
import { cp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { makeBundle } from '../../src/plugins/federation/bundle.js'
import { createExchange } from '../../src/plugins/federation/exchange/index.js'
import { federationPaths } from '../../src/plugins/federation/paths.js'
import {
  aggregateRound,
  contribute,
  pull,
  readRound,
  readState,
  verifyExchange,
  type Prior,
} from '../../src/plugins/federation/round/index.js'
import { makeEnvelope } from '../../src/plugins/federation/round/envelope.js'
import { makeGroup, ratings, type SimGroup } from '../support/federation-round.js'

let g: SimGroup
const SAME = ratings([
  ['code', 'quick-deep', 4, 1],
  ['general', 'solo', 2, 2],
])
const recordsOf = (i: number) =>
  i < 2
    ? SAME
    : ratings([
        ['code', 'solo', i % 5, 1],
        ['math', 'critic', 1, i % 3],
      ])

beforeAll(async () => {
  g = await makeGroup(12)
})
afterAll(async () => g.cleanup())

const LIVE = [0, 1, 2, 3, 6, 7, 8, 9, 10, 11]
const ctxOf = (i: number) => g.members[i]!.ctx

describe('a round of 12 members, 2 dropping out', () => {
  it('commits, masks, reveals and opens to the sum of the survivors’ noised vectors', async () => {
    // a dry run says what would leave and spends nothing
    const dry = await contribute(ctxOf(0), { records: SAME, accountant: g.members[0]!.accountant, dryRun: true })
    expect(dry).toMatchObject({ round: '0001', opens: true, dryRun: true })
    expect(dry.labels[0]).toBe('code/quick-deep/positive')
    expect(dry.clipped.slice(0, 2)).toEqual([4, 1])
    expect(dry.files).toEqual([
      'rounds/0001/open.json',
      'rounds/0001/commit-m01.json',
      'rounds/0001/bundle-m01.json',
      'rounds/0001/reveal-m01.json',
    ])
    expect((await g.members[0]!.accountant.status()).spentEpsilon).toBe(0)
    expect(await readdir(g.exchangeDir)).toEqual([])

    for (const [i, m] of g.members.entries()) {
      const c = await contribute(m.ctx, { records: recordsOf(i), accountant: m.accountant })
      expect(c).toMatchObject({ round: '0001', opens: i === 0 })
    }
    // the 12th found everyone committed and closed the commit phase
    let view = await readRound(ctxOf(0).exchange, g.group, '0001')
    expect(view.closedCommits?.body.committed).toHaveLength(12)
    expect(view.open?.body.t).toBe(7)
    expect(view.problems).toEqual([])

    // m05 and m06 drop (the 12th, closing the commit phase, posted its bundle at once): the others post theirs
    for (const i of LIVE) await pull(ctxOf(i))
    const waiting = await aggregateRound(ctxOf(3), undefined)
    expect(waiting.waiting).toMatchObject({ phase: 'mask', have: 10, missing: ['m05', 'm06'] })
    // two members close the mask phase at once: one survivors.json, the other reads it
    const [a, b] = await Promise.all([
      aggregateRound(ctxOf(0), '0001', { force: true }),
      aggregateRound(ctxOf(1), '0001', { force: true }),
    ])
    const closings = [...a.steps, ...b.steps].filter((s) => s.step === 'closed-mask')
    expect(closings.filter((s) => s.wrote)).toHaveLength(1)
    view = await readRound(ctxOf(0).exchange, g.group, '0001')
    expect(view.closedMask?.body).toEqual({
      survivors: LIVE.map((i) => g.members[i]!.id),
      dropped: ['m05', 'm06'],
    })
    for (const i of LIVE) await pull(ctxOf(i))
    view = await readRound(ctxOf(0).exchange, g.group, '0001')
    expect(view.result).toBeDefined()

    const states = await Promise.all(LIVE.map((i) => readState(g.members[i]!.home, 'garden-club', '0001')))
    const expected = states[0]!.noised.map((_, k) => states.reduce((s, st) => s + st!.noised[k]!, 0))
    const total = view.result!.total as number[]
    expect(total).toHaveLength(40)
    // each member's value is rounded to 1/4096 before masking
    total.forEach((x, k) => expect(Math.abs(x - expected[k]!)).toBeLessThan((10 * 0.5) / 4096 + 1e-9))
    expect(view.result!.commitments).toHaveLength(10)

    // two contributions of the same counts differ (noise)
    expect(states[0]!.noised).not.toEqual(states[1]!.noised)
    expect(states[0]!.noised.slice(0, 2)).not.toEqual([4, 1])

    // every survivor that pulls after the opening gets the same prior
    const priors: Prior[] = []
    for (const i of LIVE) {
      const r = await pull(ctxOf(i))
      expect(r.problems).toEqual([])
      priors.push(JSON.parse(await readFile(federationPaths(g.members[i]!.home).prior, 'utf8')) as Prior)
    }
    expect(new Set(priors.map((p) => JSON.stringify(p))).size).toBe(1)
    expect(priors[0]).toMatchObject({ v: 1, group: 'garden-club', round: '0001', members: 10, totals: total })
    expect(priors[0]!.vocabulary.chains).toEqual(['quick-deep', 'solo', 'planner', 'critic'])
    // distributed Laplace noise, b = 10 split 7 ways: the sum of 10 shares has sd √2 · 10 · √(10 / 7)
    expect(view.open!.body.params.shares).toBe(7)
    expect(priors[0]!.noise.sd).toBeCloseTo(Math.SQRT2 * 10 * Math.sqrt(10 / 7), 2)
    expect((await stat(federationPaths(g.members[0]!.home).prior)).mode & 0o777).toBe(0o600)
    const stateFile = path.join(federationPaths(g.members[0]!.home).rounds, 'garden-club', '0001', 'state.json')
    expect((await stat(stateFile)).mode & 0o777).toBe(0o600)

    const checked = await verifyExchange(ctxOf(5).exchange, g.group)
    expect(checked.problems).toEqual([])
    expect(checked.rounds).toEqual([{ round: '0001', phase: 'done', counted: 10, problems: [] }])
  })

  it('refuses a second contribution to the same round and opens the next round after the first', async () => {
    const m = g.members[0]!
    const c = await contribute(m.ctx, { records: SAME, accountant: m.accountant })
    expect(c).toMatchObject({ round: '0002', opens: true })
    await expect(contribute(m.ctx, { records: SAME, accountant: m.accountant })).rejects.toMatchObject({
      code: 'FEDERATION_ROUND',
    })
    expect((await m.accountant.status()).spentEpsilon).toBe(2)
    // a commit lost on its way (or by the exchange) is posted again, with the same bytes, by the next pull
    const file = path.join(g.exchangeDir, 'rounds', '0002', 'commit-m01.json')
    const posted = await readFile(file)
    await rm(file)
    const r = await pull(m.ctx)
    expect(r.steps).toEqual([{ round: '0002', step: 'commit', wrote: true }])
    expect((await readFile(file)).equals(posted)).toBe(true)
  })

  it('rejects tampered, replayed and foreign-signed files with the reason, and never counts them', async () => {
    const copy = path.join(g.root, 'tampered')
    await cp(g.exchangeDir, copy, { recursive: true })
    const at = (round: string, name: string) => path.join(copy, 'rounds', round, name)
    // tampered: one value of m01's masked vector changed after signing
    const bundle = JSON.parse(await readFile(at('0001', 'bundle-m01.json'), 'utf8')) as { payload: { values: string } }
    const values = Buffer.from(bundle.payload.values, 'base64')
    values[0]! ^= 1
    bundle.payload.values = values.toString('base64')
    await writeFile(at('0001', 'bundle-m01.json'), JSON.stringify(bundle))
    // m04's bundle copied under another name (listed before the real one): only the copy is rejected
    await cp(at('0001', 'bundle-m04.json'), at('0001', 'bundle-m0.json'))
    // replayed: m03's bundle of round 0001 copied into round 0002
    await cp(at('0001', 'bundle-m03.json'), at('0002', 'bundle-m03.json'))
    // foreign: an outsider's bundle, and a commit claiming to be m05's signed with the outsider's key
    const outsider = generateKeyPairSync('ed25519').privateKey
    const foreign = makeBundle(
      { group: 'garden-club', round: '0002', member: 'm99', params: g.group.params, payload: {} },
      outsider,
    )
    await writeFile(at('0002', 'bundle-m99.json'), JSON.stringify(foreign))
    const fake = makeEnvelope(
      { kind: 'commit', group: 'garden-club', round: '0002', author: 'm05', body: {} },
      outsider,
    )
    await writeFile(at('0002', 'commit-m05.json'), JSON.stringify(fake))

    const x = createExchange(copy, { home: g.members[0]!.home, member: 'm01' })
    const checked = await verifyExchange(x, g.group)
    const reasons = Object.fromEntries(checked.problems.map((p) => [p.file, p.reason]))
    expect(reasons).toMatchObject({
      'rounds/0001/bundle-m01.json': 'bad-signature',
      'rounds/0001/bundle-m0.json': 'bad-signature',
      'rounds/0002/bundle-m03.json': 'out-of-round',
      'rounds/0002/bundle-m99.json': 'foreign',
      'rounds/0002/commit-m05.json': 'bad-signature',
      'rounds/0001/result.json': 'wrong-total',
    })
    const v1 = await readRound(x, g.group, '0001')
    expect(v1.bundles.has('m01')).toBe(false)
    expect(v1.bundles.has('m04')).toBe(true)
    expect(checked.problems.filter((p) => p.file === 'rounds/0001/bundle-m04.json')).toEqual([])
    const v2 = await readRound(x, g.group, '0002')
    expect([...v2.commits.keys()]).toEqual(['m01'])
    expect(v2.bundles.size).toBe(0)
    // the untouched exchange still verifies
    expect((await verifyExchange(ctxOf(0).exchange, g.group)).problems).toEqual([])
  })
})
