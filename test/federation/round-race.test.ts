/**
 * Two members contribute at the same moment with no round open: both try to open round 0001, one
 * open.json wins (create-only), and the other starts over on the winner's terms and commits to it,
 * spending the round's ε once.
 */
import { readFile } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { loadGroupText } from '../../src/plugins/federation/group.js'
import { contribute, readRound } from '../../src/plugins/federation/round/index.js'
import { makeGroup, ratings, type SimGroup } from '../support/federation-round.js'

let g: SimGroup
beforeAll(async () => {
  g = await makeGroup(3)
})
afterAll(async () => g.cleanup())

describe('contributions racing to open a round', () => {
  it("one opens it, the other commits to the same round on the winner's terms; each spends its ε once", async () => {
    const records = ratings([['code', 'solo', 3, 1]])
    const [a, b] = [g.members[0]!, g.members[1]!]
    // b's copy of the group file is older, with another ε: whoever loses the race must use the winner's
    const text = (await readFile(g.groupFile, 'utf8')).replace('epsilon: 1', 'epsilon: 0.5')
    const ctxs = [a.ctx, { ...b.ctx, group: loadGroupText(text, 'old.group.yaml') }]
    const both = await Promise.all([a, b].map((m, i) => contribute(ctxs[i]!, { records, accountant: m.accountant })))
    expect(both.map((c) => c.round)).toEqual(['0001', '0001'])
    expect(both.filter((c) => c.opens)).toHaveLength(1)
    const view = await readRound(a.ctx.exchange, g.group, '0001')
    expect([...view.commits.keys()].sort()).toEqual(['m01', 'm02'])
    const epsilon = view.open!.body.params.epsilon
    for (const m of [a, b]) expect((await m.accountant.status()).spentEpsilon).toBe(epsilon)
  })
})
