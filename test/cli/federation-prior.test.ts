/**
 * The community prior through the real CLI: a new member's `ask` follows the group's favourite
 * chain, about evenly without it, and the member's own ratings (`mirador rate`) win over it;
 * `learn report` and `--explain` show it; `memory forget --all` removes federation state.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, rmSync, writeFileSync } from 'node:fs'
import { federationPaths } from '../../src/plugins/federation/paths.js'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { makeProject, runCli } from '../support/cli.js'
import { joinHome, writePrior } from '../support/federation-home.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'

let server: OllamaTestServer
const homes: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
  for (const h of homes) await stopChromaServer(h)
})

const VOCAB = { queryTypes: ['planning', 'general'], chains: ['alpha', 'beta'] }
const ASKS = 20

function project() {
  const p = makeProject({
    'chains/alpha.yaml':
      'name: alpha\nweights: { planning: 0.5 }\nstages:\n  answer: { model: "llama3.2:1b", prompt: "A: {{query}}" }\n',
    'chains/beta.yaml':
      'name: beta\nweights: { planning: 0.5 }\nstages:\n  answer: { model: "qwen2.5:7b", prompt: "B: {{query}}" }\n',
    'mirador.config.yaml': 'builtins:\n  learner: { rules: { planning: [plan] } }\n  memory: { k: 1 }\n',
  })
  homes.push(p.home)
  const env = (memory: 'on' | 'off') => ({ MIRADOR_HOME: p.home, OLLAMA_HOST: server.url, MIRADOR_MEMORY: memory })
  const cli = (args: string[], memory: 'on' | 'off' = 'off') => runCli(args, { cwd: p.dir, env: env(memory) })
  /** how many of ASKS planning questions `ask` routes to each chain */
  const routes = async (): Promise<Record<string, number>> => {
    const counts: Record<string, number> = { alpha: 0, beta: 0 }
    for (let i = 0; i < ASKS; i++) {
      const r = await cli(['ask', `plan my week, take ${i}`, '--json'])
      expect(r.code).toBe(0)
      const route = r.events.find((e) => e.type === 'route')!
      expect(route.queryType).toBe('planning')
      counts[route.chain as string]! += 1
    }
    return counts
  }
  return { ...p, cli, routes }
}

interface ReportRow {
  chain: string
  ratings: number
  community?: { share: number; weight: number; source: string }
}
const reportOf = async (p: ReturnType<typeof project>) => {
  const r = await p.cli(['learn', 'report', '--json'])
  expect(r.code).toBe(0)
  return (JSON.parse(r.stdout) as { type: string; chains: ReportRow[] }[]).find((t) => t.type === 'planning')!.chains
}

describe('the community prior through the CLI', () => {
  it('without membership nothing changes: routing is about even', async () => {
    const p = project()
    const counts = await p.routes()
    expect(counts.beta).toBeGreaterThanOrEqual(4)
    expect(counts.beta).toBeLessThanOrEqual(16)
    expect((await reportOf(p)).every((c) => c.community === undefined)).toBe(true)
  }, 120_000)

  it("a new member follows the group's favourite; its own ratings then win; forget --all removes it", async () => {
    const p = project()
    await joinHome(p.home, VOCAB)
    // the group rated beta well for planning, alpha badly; sd 14.1 (Laplace, ε = 1, clip 10)
    // and alpha well for general questions, which no chain of this project weighs yet
    await writePrior(p.home, VOCAB, { planning: { alpha: [40, 160], beta: [180, 20] }, general: { alpha: [150, 30] } })
    const withPrior = await p.routes()
    expect(withPrior.beta).toBeGreaterThanOrEqual(17)

    const explained = await p.cli(['ask', 'plan the garden', '--json', '--explain'])
    const route = explained.events.find((e) => e.type === 'route')!
    const betaRow = (route.candidates as { chain: string; prior?: { share: number; source: string } }[]).find(
      (c) => c.chain === 'beta',
    )!
    expect(betaRow.prior).toMatchObject({ share: 181 / 202, source: 'round 0003 of garden-club' })
    if (route.chain === 'beta')
      expect(route.reason).toMatch(/community 90 % good \(weight 8\.6, round 0003 of garden-club\)/)
    const text = await p.cli(['ask', 'plan the garden', '--explain'])
    expect(text.stdout + text.stderr).toMatch(/beta .*community 90 % good \(weight 8\.6, round 0003 of garden-club\)/)

    const before = await reportOf(p)
    expect(before.find((c) => c.chain === 'beta')).toMatchObject({
      ratings: 0,
      community: { weight: expect.any(Number) },
    })
    expect(before.find((c) => c.chain === 'beta')!.community!.weight).toBeCloseTo(8.59, 2)
    const reported = (await p.cli(['learn', 'report'])).stdout
    expect(reported).toMatch(/beta .*0 rating\(s\) {2}community 90 % good \(weight 8\.6/)
    // a type only the community speaks for shows before any rating, with no favourite of the user's
    expect(reported).toMatch(
      /^general {2}\(no favourite of yours yet\)\n {2}alpha +weight — {2}0 rating\(s\) {2}community 83 % good/m,
    )

    // the member's own ratings: alpha good, beta bad, 8 of each (memory on: only recorded runs are rated)
    for (let i = 0; i < 8; i++) {
      for (const [chain, rating] of [
        ['alpha', '5'],
        ['beta', '1'],
      ] as const) {
        expect((await p.cli(['chain', 'run', chain, `plan day ${i}`, '--no-stream'], 'on')).code).toBe(0)
        expect((await p.cli(['rate', '--last', rating], 'on')).code).toBe(0)
      }
    }
    const rated = await reportOf(p)
    expect(rated.find((c) => c.chain === 'beta')).toMatchObject({ ratings: 8 })
    // faded by the member's 8 ratings: 8.59 · 10 / 18
    expect(rated.find((c) => c.chain === 'beta')!.community!.weight).toBeCloseTo((8.59 * 10) / 18, 2)
    const afterRatings = await p.routes()
    expect(afterRatings.alpha).toBeGreaterThanOrEqual(15)

    // forget --all: federation's state goes with the rest; the prior no longer shows
    const forgot = await p.cli(['memory', 'forget', '--all', '--yes'], 'on')
    expect(forgot.code).toBe(0)
    expect(forgot.stdout).toMatch(/1 federation membership/)
    expect(existsSync(federationPaths(p.home).dir)).toBe(false)
    expect((await reportOf(p)).every((c) => c.community === undefined)).toBe(true)
  }, 300_000)

  it('a damaged prior.json is one warning, and ask still answers', async () => {
    const p = project()
    await joinHome(p.home, VOCAB)
    writeFileSync(federationPaths(p.home).prior, '{"v": 1, "totals": [')
    const r = await p.cli(['ask', 'plan my week', '--no-stream'])
    expect(r.code).toBe(0)
    const warnings = (r.stdout + r.stderr).split('\n').filter((l) => /community prior is left out/.test(l))
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/prior\.json is damaged \(not JSON\); `mirador federation pull` writes the newest one/)
    const report = await p.cli(['learn', 'report'])
    expect(report.code).toBe(0)
    expect(report.stderr).toMatch(/warning: federation: the community prior is left out/)
    rmSync(federationPaths(p.home).prior)
    const clean = await p.cli(['ask', 'plan my week', '--no-stream'])
    expect(clean.stdout + clean.stderr).not.toMatch(/community prior/)
  }, 60_000)
})
