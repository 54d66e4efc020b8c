/**
 * Federation rounds end to end through the CLI: 12 members (each its own $MIRADOR_HOME, with
 * ratings in its learner journal: two of them from real `ask --session` runs and `rate`) on a
 * folder exchange and on a git exchange (a local bare repository), 2 dropping out after they
 * committed. The sum opens to the survivors' noised vectors, every member gets prior.json, and no
 * exchange file or file under a home holds a query, an answer, a session name or a home's path.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { Accountant } from '../../src/plugins/federation/accountant.js'
import { loadOrCreateMemberKeys } from '../../src/plugins/federation/member-keys.js'
import { writeMembership } from '../../src/plugins/federation/membership.js'
import { loadPrior } from '../../src/plugins/federation/prior.js'
import { Journal } from '../../src/plugins/learner/journal.js'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { filesHolding, filesUnder } from '../support/home-files.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'

let server: OllamaTestServer
const askers: string[] = []
beforeAll(async () => {
  server = await startOllamaTestServer()
})
afterAll(async () => {
  await server.close()
  for (const h of askers) await stopChromaServer(h)
})

const PLANNER =
  'name: planner\ntriggers: [plan]\nstages:\n  answer: { model: "llama3.2:1b", prompt: "Plan: {{query}}" }\n'
const WRITER = 'name: writer\nstages:\n  answer: { model: "qwen2.5:7b", prompt: "Write: {{query}}" }\n'
const QUERIES = ['Help me plan my Zanzibar quokka week', 'Plan the Okonkwo festival schedule']
const SESSION = 'trip-xq93'
/** words of the queries, the session name, and words of the test double's answers */
const NEEDLES = ['Zanzibar', 'quokka', 'Okonkwo', 'festival', SESSION, 'build from there']
const N = 12
const DROPPED = ['m05', 'm06']
const id = (i: number) => `m${String(i + 1).padStart(2, '0')}`

const json = (r: { stdout: string }) => JSON.parse(r.stdout) as Record<string, unknown>

interface Fed {
  dir: string
  homes: string[]
  exchangeDir: string
  run(i: number, args: string[]): ReturnType<typeof runCli>
}

/**
 * 12 members of one group. Folder: made through the CLI (`federation init`, then 11 `join`s of the
 * group file it writes into the exchange folder). Git, to keep the test short: keys, group file and
 * membership made with the library, as those commands leave them.
 */
async function federation(kind: 'folder' | 'git'): Promise<Fed> {
  const p = makeProject({
    'chains/planner.yaml': PLANNER,
    'chains/writer.yaml': WRITER,
    'mirador.config.yaml': 'builtins:\n  learner: { rules: { planning: [plan, schedule, week] } }\n',
  })
  const shared = mkdtempSync(path.join(os.tmpdir(), 'mirador-fedshare-'))
  const exchangeDir = path.join(shared, kind === 'git' ? 'group.git' : 'exchange')
  const homes = Array.from({ length: N }, (_, i) => path.join(p.dir, 'homes', id(i)))
  for (const h of homes) mkdirSync(h, { recursive: true, mode: 0o700 })
  const env = (i: number) => ({ MIRADOR_HOME: homes[i]!, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'off' })
  const fed: Fed = {
    dir: p.dir,
    homes,
    exchangeDir,
    run: (i, args) => runCli(['federation', ...args], { cwd: p.dir, env: env(i), timeoutMs: 60_000 }),
  }
  if (kind === 'folder') {
    const init = await fed.run(0, [
      ...['init', 'garden-club', '--exchange', exchangeDir, '--id', id(0)],
      ...['--types', 'planning,general', '--chains', 'planner,writer', '--json'],
    ])
    expect(init.code).toBe(0)
    const { groupFile } = json(init) as { groupFile: string }
    for (let i = 1; i < N; i++) expect((await fed.run(i, ['join', groupFile, '--id', id(i)])).code).toBe(0)
    return fed
  }
  execFileSync('git', ['init', '--bare', '-q', '-b', 'main', exchangeDir])
  const keys = await Promise.all(homes.map((h) => loadOrCreateMemberKeys(h)))
  const groupFile = path.join(shared, 'group.yaml')
  writeFileSync(
    groupFile,
    [
      'group: garden-club',
      `exchange: git+file://${exchangeDir}`,
      'vocabulary: { queryTypes: [planning, general], chains: [planner, writer] }',
      'privacy: { mechanism: laplace, epsilon: 1, clip: 10, period_days: 30, budget: 4, noise: distributed }',
      'threshold: 2',
      'members:',
      ...keys.map(
        (k, i) => `  - { id: ${id(i)}, signing_key: ${k.signing.public}, agreement_key: ${k.agreement.public} }`,
      ),
      '',
    ].join('\n'),
  )
  for (const [i, home] of homes.entries()) await writeMembership(home, { groupFile, member: id(i) })
  return fed
}

/** Ratings in every member's journal: the first two from real runs, the others written as the learner does. */
async function rate(fed: Fed): Promise<void> {
  for (const i of [0, 1]) {
    askers.push(fed.homes[i]!)
    const env = { MIRADOR_HOME: fed.homes[i]!, OLLAMA_HOST: server.url, MIRADOR_MEMORY: 'on' }
    const ask = await runCli(['ask', QUERIES[i]!, '--session', SESSION], { cwd: fed.dir, env, timeoutMs: 60_000 })
    expect(ask.code).toBe(0)
    expect((await runCli(['rate', '--last', '5'], { cwd: fed.dir, env })).code).toBe(0)
  }
  for (let i = 2; i < N; i++) {
    const journal = new Journal(fed.homes[i]!)
    for (let k = 0; k < 3 + (i % 4); k++)
      await journal.append({
        kind: 'rating',
        runId: `r_${i}_${k}`,
        chain: k % 3 ? 'planner' : 'writer',
        type: k % 2 ? 'general' : 'planning',
        rating: k % 3 ? 5 : 2,
        at: 1000 + k,
      })
  }
}

const ok = async (p: ReturnType<typeof runCli>) => {
  const r = await p
  expect([r.code, r.stderr]).toEqual([0, expect.any(String)])
  return r
}

/** A whole round: everyone contributes, two drop, the others mask, close, reveal and pull the prior. */
async function round(fed: Fed): Promise<void> {
  const live = Array.from({ length: N }, (_, i) => i).filter((i) => !DROPPED.includes(id(i)))
  for (let i = 0; i < N; i++) await ok(fed.run(i, ['contribute']))
  // the 12th closed the commit phase and posted its bundle; the other survivors post theirs
  for (const i of live.slice(0, -1)) await ok(fed.run(i, ['pull']))
  const waiting = json(await ok(fed.run(0, ['aggregate', '--json'])))
  expect(waiting.waiting).toMatchObject({ phase: 'mask', have: 10, need: 7, missing: DROPPED })
  await ok(fed.run(0, ['aggregate', '0001', '--now']))
  for (const i of live.slice(1)) await ok(fed.run(i, ['pull']))
  // the members that pulled before the sum opened, and the dropped ones, pull the result too
  const prior = (i: number) => path.join(fed.homes[i]!, 'federation', 'prior.json')
  for (let i = 0; i < N; i++) if (!existsSync(prior(i))) await ok(fed.run(i, ['pull']))

  const priors = fed.homes.map((_, i) => readFileSync(prior(i), 'utf8'))
  expect(new Set(priors).size).toBe(1)
  const opened = JSON.parse(priors[0]!) as { round: string; members: number; totals: number[] }
  expect(opened).toMatchObject({ round: '0001', members: 10 })
  const noised = live.map(
    (i) =>
      (
        JSON.parse(
          readFileSync(path.join(fed.homes[i]!, 'federation', 'rounds', 'garden-club', '0001', 'state.json'), 'utf8'),
        ) as { noised: number[] }
      ).noised,
  )
  opened.totals.forEach((x, k) =>
    expect(Math.abs(x - noised.reduce((s, v) => s + v[k]!, 0))).toBeLessThan((10 * 0.5) / 4096 + 1e-9),
  )
  // the learner's community prior reads it as it is
  expect(await loadPrior(fed.homes[7]!)).toEqual({ file: expect.objectContaining({ round: '0001', members: 10 }) })
  const verified = await ok(fed.run(3, ['verify', '--json']))
  expect(json(verified)).toMatchObject({ problems: [], rounds: [{ round: '0001', phase: 'done', counted: 10 }] })
}

/** Nothing private anywhere: in the exchange's files (`exchangeFiles`) or under any home. */
function expectNothingPrivate(fed: Fed, exchangeFiles: string): void {
  const inExchange = [...NEEDLES, ...fed.homes, fed.dir].map((n) => [n, filesHolding(exchangeFiles, n)])
  expect(inExchange).toEqual([...NEEDLES, ...fed.homes, fed.dir].map((n) => [n, []]))
  expect(filesUnder(exchangeFiles).length).toBeGreaterThan(30)
  for (const home of fed.homes) for (const n of NEEDLES) expect([n, filesHolding(home, n)]).toEqual([n, []])
}

describe('federation rounds through the CLI', () => {
  it('12 members on a folder exchange, 2 dropping: the sum opens, every member gets the prior', async () => {
    const fed = await federation('folder')
    await rate(fed)
    // a dry run prints what would leave and sends nothing
    const dry = await ok(fed.run(0, ['contribute', '--dry-run']))
    expect(dry.stdout).toMatch(/Dry run: nothing is sent and no budget is spent\. Round 0001 \(this would open it\)/)
    expect(dry.stdout).toMatch(/planning\/planner\/positive +1/)
    expect(existsSync(path.join(fed.exchangeDir, 'rounds'))).toBe(false)

    await round(fed)
    expectNothingPrivate(fed, fed.exchangeDir)

    // verify another copy of the exchange where one bundle was changed after signing: exit 1, with the reason
    const copy = mkdtempSync(path.join(os.tmpdir(), 'mirador-fedcopy-'))
    cpSync(fed.exchangeDir, copy, { recursive: true })
    const bundle = path.join(copy, 'rounds', '0001', 'bundle-m01.json')
    writeFileSync(bundle, readFileSync(bundle, 'utf8').replace('"epsilon":1', '"epsilon":0.5'))
    const tampered = await fed.run(2, ['verify', '--exchange', copy, '--json'])
    expect(tampered.code).toBe(1)
    expect(json(tampered).problems).toContainEqual(
      expect.objectContaining({ file: 'rounds/0001/bundle-m01.json', reason: 'bad-signature' }),
    )

    // past the budget: refused before anything is written
    await new Accountant({ home: fed.homes[4]! }).spend('garden-club/x', 3)
    const refused = await fed.run(4, ['contribute', '--json'])
    expect(refused.code).toBe(1)
    expect(json(refused)).toMatchObject({ error: { code: 'FEDERATION_BUDGET' } })
    expect(filesUnder(fed.exchangeDir).filter((f) => f.includes('0002'))).toEqual([])
  }, 180_000)

  it('12 members on a git exchange (a local bare repository), 2 dropping', async () => {
    const fed = await federation('git')
    await rate(fed)
    await round(fed)
    const checkout = mkdtempSync(path.join(os.tmpdir(), 'mirador-fedgit-'))
    execFileSync('git', ['clone', '-q', fed.exchangeDir, checkout])
    expectNothingPrivate(fed, path.join(checkout, 'rounds'))
  }, 240_000)
})
