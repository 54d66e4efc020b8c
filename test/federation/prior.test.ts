/**
 * The community prior (prior.ts): the math of docs/federation.md, prior.json checked against the
 * group file, and FederationPlugin's `priors` and `forget` taps on a real engine.
 */
import { mkdtemp, mkdir, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Engine } from '../../src/engine/engine.js'
import type { ForgetRequest, RoutePriors } from '../../src/engine/types.js'
import {
  communityPrior,
  DEFAULT_PRIOR_WEIGHT,
  FederationPlugin,
  loadPrior,
  parsePrior,
  priorFor,
} from '../../src/plugins/federation/index.js'
import { federationPaths } from '../../src/plugins/federation/paths.js'
import { choose, posterior, seededRandom } from '../../src/plugins/learner/bandit.js'
import { joinHome, writePrior } from '../support/federation-home.js'
import { ROOT } from '../support/cli.js'

const VOCAB = { queryTypes: ['code', 'general'], chains: ['quick-deep', 'solo'] }

let dir: string
let n = 0
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirador-prior-'))
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

async function home(): Promise<string> {
  const h = path.join(dir, `h${n++}`)
  await mkdir(h, { recursive: true })
  return h
}

describe('the math', () => {
  it('share, reliability and weight as documented', () => {
    // P = 90, N = 10, sd = 5: m = 91/102, r = 1 − 10/100 = 0.9, W = 9, no own ratings
    const p = communityPrior(90, 10, 5, 0)
    expect(p.share).toBeCloseTo(91 / 102, 12)
    expect(p.reliability).toBeCloseTo(0.9, 12)
    expect(p.alpha).toBeCloseTo((9 * 91) / 102, 12)
    expect(p.beta).toBeCloseTo((9 * 11) / 102, 12)
    expect(DEFAULT_PRIOR_WEIGHT).toBe(10)
  })

  it('reliability is 0 when the noise swamps the counts: no pseudo-ratings at all', () => {
    for (const [pos, neg] of [
      [5, 5],
      [20, 8],
      [0, 0],
    ]) {
      const p = communityPrior(pos!, neg!, 14.1, 0)
      expect(p.reliability).toBe(0)
      expect(p.alpha + p.beta).toBe(0)
    }
  })

  it('negative noised counts are read as 0', () => {
    const p = communityPrior(-7, 40, 1, 0)
    expect(p.share).toBeCloseTo(1 / 42, 12)
    expect(p.reliability).toBeCloseTo(1 - 2 / 40, 12)
  })

  it("the weight fades with the user's own ratings: W' = W·w/(w + n)", () => {
    const fresh = communityPrior(180, 20, 1, 0)
    const weights = [0, 5, 10, 40, 200].map((own) => {
      const p = communityPrior(180, 20, 1, own)
      expect(p.share).toBe(fresh.share)
      return p.alpha + p.beta
    })
    expect(weights[2]).toBeCloseTo(weights[0]! / 2, 12)
    for (let i = 1; i < weights.length; i++) expect(weights[i]!).toBeLessThan(weights[i - 1]!)
    // from w ratings on, the prior counts for less than half of them
    for (const own of [10, 20, 50, 500]) {
      const p = communityPrior(1e6, 0, 0, own)
      expect(p.alpha + p.beta).toBeLessThan(own / 2 + 1e-9)
    }
  })

  it('own ratings win: a chain the community loves loses to one the user rated well', () => {
    // community: quick-deep 95 % good, solo 20 %; the user: 12 ratings each, solo 11 good, quick-deep 2
    const file = parsePrior(
      JSON.stringify({
        v: 1,
        group: 'garden-club',
        round: '0003',
        vocabulary: VOCAB,
        totals: [190, 10, 40, 160, 0, 0, 0, 0],
        noise: { sd: 14.1 },
      }),
    )
    const qd = priorFor(file, 'code', 'quick-deep', 12)!
    const solo = priorFor(file, 'code', 'solo', 12)!
    const candidates = [
      { chain: 'quick-deep', weight: 4 / 14, count: 12, prior: { ...qd, source: 'round 0003' } },
      { chain: 'solo', weight: 12 / 14, count: 12, prior: { ...solo, source: 'round 0003' } },
    ]
    const mean = (c: (typeof candidates)[number]) => {
      const p = posterior(c.weight, c.count, 2, c.prior)
      return p.alpha / (p.alpha + p.beta)
    }
    expect(mean(candidates[1]!)).toBeGreaterThan(mean(candidates[0]!) + 0.2)
    const rng = seededRandom(7)
    const picks = Array.from({ length: 200 }, () => choose(candidates, { rng, explore: 0.25 }).chain)
    expect(picks.filter((c) => c === 'solo').length).toBeGreaterThan(180)
  })

  it('a prior moves a new user to the community favourite, and --explain names it', () => {
    const file = parsePrior(
      JSON.stringify({
        v: 1,
        group: 'garden-club',
        round: '0003',
        vocabulary: VOCAB,
        totals: [0, 0, 0, 0, 150, 30, 40, 140],
        noise: { sd: 14.1 },
      }),
    )
    const prior = (chain: string) => ({ ...priorFor(file, 'general', chain, 0)!, source: 'round 0003 of garden-club' })
    const candidates = ['quick-deep', 'solo'].map((chain) => ({ chain, weight: 0.5, count: 0, prior: prior(chain) }))
    const rng = seededRandom(11)
    const picks = Array.from({ length: 200 }, () => choose(candidates, { rng, explore: 0.25, type: 'general' }))
    expect(picks.filter((c) => c.chain === 'quick-deep').length).toBeGreaterThan(180)
    const reason = picks.find((c) => c.chain === 'quick-deep')!.reason
    expect(reason).toMatch(/community 83 % good \(weight \d+\.\d, round 0003 of garden-club\)/)
    // without the prior the same draws are about even
    const plain = candidates.map(({ chain, weight, count }) => ({ chain, weight, count }))
    const even = Array.from({ length: 200 }, () => choose(plain, { rng, explore: 0.25 }).chain)
    const qd = even.filter((c) => c === 'quick-deep').length
    expect(qd).toBeGreaterThan(60)
    expect(qd).toBeLessThan(140)
  })

  it('a type or chain outside the vocabulary has no prior', () => {
    const file = parsePrior(
      JSON.stringify({
        v: 1,
        group: 'g',
        round: '1',
        vocabulary: VOCAB,
        totals: [9, 1, 9, 1, 9, 1, 9, 1],
        noise: { sd: 0 },
      }),
    )
    expect(priorFor(file, 'planning', 'solo', 0)).toBeUndefined()
    expect(priorFor(file, 'code', 'my-private-chain', 0)).toBeUndefined()
    expect(priorFor(file, 'code', 'solo', 0)).toBeDefined()
  })
})

describe('prior.json', () => {
  it('refuses damaged files with the reason', () => {
    const ok = { v: 1, group: 'g', round: '1', vocabulary: VOCAB, totals: [0, 0, 0, 0, 0, 0, 0, 0], noise: { sd: 1 } }
    const bad: [unknown, RegExp][] = [
      ['{', /not JSON/],
      [{ ...ok, v: 2 }, /version 2/],
      [{ ...ok, totals: [1, 2] }, /2 totals for a vocabulary of 8 slots/],
      [{ ...ok, totals: [0, 0, 0, 0, 0, 0, 0, 'x'] }, /not a list of numbers/],
      [{ ...ok, noise: {} }, /noise\.sd/],
      [{ ...ok, vocabulary: { queryTypes: [], chains: ['a'] } }, /no vocabulary/],
    ]
    for (const [value, reason] of bad)
      expect(() => parsePrior(typeof value === 'string' ? value : JSON.stringify(value))).toThrow(reason)
    expect(parsePrior(JSON.stringify(ok)).round).toBe('1')
  })

  it('no file: no prior and nothing to say, in a group or not', async () => {
    const h = await home()
    expect(await loadPrior(h)).toEqual({})
    await joinHome(h, VOCAB)
    expect(await loadPrior(h)).toEqual({})
  })

  it('a damaged file: no prior and one warning that says what to do', async () => {
    const h = await home()
    await joinHome(h, VOCAB)
    await writeFile(federationPaths(h).prior, '{"v": 1, "totals": [')
    const r = await loadPrior(h)
    expect(r.file).toBeUndefined()
    expect(r.warning).toMatch(/prior\.json is damaged \(not JSON\); `mirador federation pull` writes the newest one/)
  })

  it("a prior of another vocabulary or group than the group file's is left out, with a warning", async () => {
    const h = await home()
    await joinHome(h, VOCAB)
    const other = { queryTypes: ['code', 'general'], chains: ['solo', 'quick-deep'] }
    await writePrior(h, other, { code: { solo: [50, 2] } }, { sd: 1 })
    const r = await loadPrior(h)
    expect(r.file).toBeUndefined()
    expect(r.warning).toMatch(/round 0003 counted another vocabulary than the group file's/)
    await writePrior(h, VOCAB, { code: { solo: [50, 2] } }, { sd: 1, group: 'book-club' })
    expect((await loadPrior(h)).warning).toMatch(/is for the group book-club, not garden-club/)
    await writePrior(h, VOCAB, { code: { solo: [50, 2] } }, { sd: 1 })
    expect((await loadPrior(h)).file?.round).toBe('0003')
  })
})

function engineAt(h: string): Engine {
  return new Engine({
    cwd: ROOT,
    home: h,
    offline: true,
    memory: false,
    config: {},
    env: {},
    dirs: { chains: [], tools: [], profiles: [] },
  })
}

const ask = (engine: Engine, queryType: string, ratings: Record<string, number>): Promise<RoutePriors> =>
  engine.hooks.priors.promise({
    queryType,
    candidates: Object.entries(ratings).map(([chain, r]) => ({ chain, ratings: r })),
    priors: {},
  })

describe('FederationPlugin', () => {
  it('fills the priors hook from prior.json, read once', async () => {
    const h = await home()
    await joinHome(h, VOCAB)
    await writePrior(h, VOCAB, { general: { solo: [80, 20], 'quick-deep': [3, 2] } }, { sd: 3 })
    const engine = engineAt(h)
    expect(engine.use(new FederationPlugin())).toBe(true)
    const r = await ask(engine, 'general', { solo: 0, 'quick-deep': 0, 'my-chain': 0 })
    expect(Object.keys(r.priors)).toEqual(['solo']) // quick-deep's 5 ratings are swamped by sd 3; my-chain is private
    expect(r.priors.solo).toMatchObject({ share: 81 / 102, source: 'round 0003 of garden-club' })
    expect(r.priors.solo!.alpha + r.priors.solo!.beta).toBeCloseTo(10 * 0.94, 12)
    expect(r.warnings).toBeUndefined()
    // read once: a change on disk shows in the next process, not this one
    await writePrior(h, VOCAB, {}, { sd: 3 })
    expect((await ask(engine, 'general', { solo: 10 })).priors.solo!.alpha).toBeCloseTo(4.7 * (81 / 102), 12)
  })

  it('prior_weight scales it; 0 turns it off; bad options are refused', async () => {
    const h = await home()
    await joinHome(h, VOCAB)
    await writePrior(h, VOCAB, { code: { solo: [100, 0] } }, { sd: 0 })
    const e1 = engineAt(h)
    e1.use(new FederationPlugin({ prior_weight: 4 }))
    const p = (await ask(e1, 'code', { solo: 4 })).priors.solo!
    expect(p.alpha + p.beta).toBeCloseTo(4 * (4 / 8), 12)
    const e0 = engineAt(h)
    e0.use(new FederationPlugin({ prior_weight: 0 }))
    expect((await ask(e0, 'code', { solo: 0 })).priors).toEqual({})
    expect(() => new FederationPlugin({ prior_weight: -1 })).toThrow(/prior_weight/)
  })

  it('a damaged prior.json: one warning for the whole process, no prior, no error', async () => {
    const h = await home()
    await joinHome(h, VOCAB)
    await writeFile(federationPaths(h).prior, 'not json at all')
    const engine = engineAt(h)
    engine.use(new FederationPlugin())
    const first = await ask(engine, 'code', { solo: 0 })
    expect(first.priors).toEqual({})
    expect(first.warnings).toHaveLength(1)
    expect(first.warnings![0]).toMatch(/^federation: the community prior is left out: .*prior\.json is damaged/)
    expect((await ask(engine, 'code', { solo: 0 })).warnings).toBeUndefined()
  })

  it('forget --all removes federation state; other forgets leave it', async () => {
    const h = await home()
    await joinHome(h, VOCAB)
    await writePrior(h, VOCAB, {})
    await mkdir(federationPaths(h).keys, { recursive: true })
    const engine = engineAt(h)
    engine.use(new FederationPlugin())
    const some: ForgetRequest = { runIds: ['r_1'], removed: {} }
    await engine.hooks.forget.promise(some)
    expect(some.removed).toEqual({})
    expect((await stat(federationPaths(h).membership)).isFile()).toBe(true)
    const all: ForgetRequest = { all: true, removed: {} }
    await engine.hooks.forget.promise(all)
    expect(all.removed).toEqual({ 'federation memberships': 1 })
    await expect(stat(federationPaths(h).dir)).rejects.toThrow(/ENOENT/)
    await expect(stat(federationPaths(h).keys)).rejects.toThrow(/ENOENT/)
  })

  it('forget --all also removes keys a half-made init left in a home that is in no group', async () => {
    const h = await home()
    await mkdir(federationPaths(h).keys, { recursive: true })
    const engine = engineAt(h)
    engine.use(new FederationPlugin())
    const all: ForgetRequest = { all: true, removed: {} }
    await engine.hooks.forget.promise(all)
    expect(all.removed).toEqual({ 'federation memberships': 1 })
    await expect(stat(federationPaths(h).keys)).rejects.toThrow(/ENOENT/)
    // nothing left: a second forget has nothing to say
    const again: ForgetRequest = { all: true, removed: {} }
    await engine.hooks.forget.promise(again)
    expect(again.removed).toEqual({})
  })
})
