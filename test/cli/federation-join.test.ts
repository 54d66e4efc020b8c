/**
 * `mirador federation init | join | status | leave` through the real CLI, each member with its own
 * MIRADOR_HOME: a group started on a folder exchange, three members joining the one group file at
 * once, status (members, rounds from the exchange's files, the budget), the errors, and leave.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from '@jest/globals'
import { Accountant } from '../../src/plugins/federation/accountant.js'
import { makeProject, runCli } from '../support/cli.js'
import { filesUnder } from '../support/home-files.js'

const CONFIG = 'builtins:\n  learner:\n    rules:\n      planning: [plan, schedule]\n      code: [function, bug]\n'

function world() {
  const p = makeProject({ 'mirador.config.yaml': CONFIG })
  const homeOf = (name: string) => path.join(p.dir, 'homes', name)
  const cli = (name: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
    runCli(['federation', ...args], { cwd: p.dir, env: { MIRADOR_HOME: homeOf(name), ...env } })
  return { dir: p.dir, homeOf, cli }
}

const json = (stdout: string) => JSON.parse(stdout) as Record<string, unknown>

describe('mirador federation init / join / status / leave', () => {
  it('starts a group on a folder exchange; three members join the same file at once; status lists them', async () => {
    const w = world()
    const init = await w.cli('ana', ['init', 'garden-club', '--exchange', 'sync/garden', '--json'])
    expect(init.stderr).toBe('')
    expect(init.code).toBe(0)
    const file = path.join(w.dir, 'sync', 'garden', 'garden-club.group.yaml')
    const made = json(init.stdout)
    expect(made).toEqual({ groupFile: file, member: expect.stringMatching(/^m-[0-9a-f]{8}$/), group: 'garden-club' })

    const text = readFileSync(file, 'utf8')
    // shared: no absolute schema path (it would carry the founder's home folder)
    expect(text).not.toMatch(/^# yaml-language-server: \$schema=\//m)
    expect(text).not.toContain(w.dir)
    expect(text).toContain('exchange: .\n')
    expect(text).toMatch(/^ {2}noise: distributed$/m)
    // the learner's types (general, then the config's rules) and the shipped chains
    expect(text).toContain('queryTypes: [general, planning, code]')
    expect(text).toMatch(/chains: \[.*quick-deep.*single.*\]/)

    const joins = await Promise.all(
      ['ben', 'cy', 'dora'].map((name, i) =>
        w.cli(name, ['join', path.relative(w.dir, file), ...(i === 0 ? ['--id', 'ben'] : []), '--json']),
      ),
    )
    for (const j of joins) expect([j.code, j.stderr]).toEqual([0, ''])
    const ids = joins.map((j) => json(j.stdout).member as string)
    expect(ids[0]).toBe('ben')

    const status = await w.cli('cy', ['status', '--json'])
    expect(status.code).toBe(0)
    const s = json(status.stdout)
    expect(s).toMatchObject({
      group: 'garden-club',
      groupFile: file,
      exchange: path.dirname(file),
      member: ids[1],
      threshold: 2,
      roundThreshold: 3,
      rounds: [],
      budget: { spentEpsilon: 0, leftEpsilon: 4, budget: 4, periodDays: 30, frees: null },
    })
    const members = s.members as { id: string; you: boolean }[]
    expect(members.map((m) => m.id).sort()).toEqual([made.member as string, ...ids].sort())
    expect(members.filter((m) => m.you)).toEqual([{ id: ids[1], you: true }])

    // joining again is a no-op; the file names no member's home (nor the project's folder)
    const again = await w.cli('ben', ['join', file, '--json'])
    expect(json(again.stdout)).toMatchObject({ member: 'ben', added: false, members: 4 })
    const after = readFileSync(file, 'utf8')
    for (const name of ['ana', 'ben', 'cy', 'dora']) expect(after).not.toContain(w.homeOf(name))
    expect(after).not.toContain(w.dir)
    expect(after).toContain('# A Mirador federation group')
  })

  it('status: the rounds on the exchange, the budget spent and when it frees; rounds unknown offline', async () => {
    const w = world()
    const init = await w.cli('ana', ['init', 'lab', '--exchange', 'ex', '--types', 'code,general', '--json'])
    expect(init.code).toBe(0)
    const rounds = path.join(w.dir, 'ex', 'rounds')
    const put = (round: string, names: string[]) => {
      mkdirSync(path.join(rounds, round), { recursive: true })
      for (const n of names) writeFileSync(path.join(rounds, round, n), '{}')
    }
    put('0001', ['open.json', 'commit-a.json', 'commit-b.json', 'commits.json', 'bundle-a.json', 'bundle-b.json'])
    put('0001', ['survivors.json', 'reveal-a.json', 'reveal-b.json', 'result.json'])
    put('0002', ['open.json', 'commit-a.json'])
    await new Accountant({ home: w.homeOf('ana') }).spend('0001', 1)

    const s = json((await w.cli('ana', ['status', '--json'])).stdout)
    expect(s.rounds).toEqual([
      {
        round: '0001',
        phase: 'done',
        files: ['open', 'commits', 'survivors', 'result'],
        commits: 2,
        bundles: 2,
        reveals: 2,
      },
      { round: '0002', phase: 'commit', files: ['open'], commits: 1, bundles: 0, reveals: 0 },
    ])
    const budget = s.budget as { spentEpsilon: number; leftEpsilon: number; frees: string }
    expect(budget).toMatchObject({ spentEpsilon: 1, leftEpsilon: 3 })
    const days = (Date.parse(budget.frees) - Date.now()) / 86_400_000
    expect(days).toBeGreaterThan(29.9)
    expect(days).toBeLessThanOrEqual(30)

    const text = await w.cli('ana', ['status'])
    expect(text.stdout).toMatch(/^members {4}1: m-\w+ \(you\)$/m)
    expect(text.stdout).toMatch(/^ {2}0001 {2}done {4}2 commits, 2 bundles, 2 reveals$/m)
    expect(text.stdout).toMatch(/^budget {5}ε 1 of 4 spent in the last 30 days, 3 left; the oldest spend frees up at /m)

    // a git exchange (a local bare repository): read through a clone in the member's home
    const bare = path.join(w.dir, 'git', 'group.git')
    mkdirSync(bare, { recursive: true })
    execFileSync('git', ['init', '-q', '--bare', bare])
    const viaGit = await w.cli('cy', ['init', 'gitted', '--exchange', `git+file://${bare}`, '--json'])
    expect([viaGit.code, viaGit.stderr]).toEqual([0, ''])
    const gs = await w.cli('cy', ['status', '--json'])
    expect([gs.code, gs.stderr]).toEqual([0, ''])
    expect(json(gs.stdout)).toMatchObject({ group: 'gitted', exchange: `git+file://${bare}`, rounds: [] })
    const missing = await w.cli('dora', ['init', 'nope', '--exchange', `git+file://${bare}x`])
    expect(missing.stderr).toMatch(/^✗ FEDERATION_EXCHANGE: .*does not exist; create it with `git init --bare /)
    expect(existsSync(path.join(w.homeOf('dora'), 'keys', 'federation'))).toBe(false)

    // a remote exchange offline: everything but the rounds
    const remote = await w.cli('ben', ['init', 'far', '--exchange', 'git+ssh://git@example.com/far.git', '--json'])
    expect(remote.code).toBe(0)
    expect(json(remote.stdout).groupFile).toBe(path.join(w.dir, 'far.group.yaml'))
    const off = await w.cli('ben', ['status', '--json'], { MIRADOR_OFFLINE: '1' })
    expect(off.code).toBe(0)
    expect(json(off.stdout)).toMatchObject({ group: 'far', rounds: null, roundsUnknown: 'unknown (offline)' })
  })

  it('members made by init and join run a round with contribute and pull; status follows it', async () => {
    const w = world()
    expect((await w.cli('ana', ['init', 'club', '--exchange', 'ex'])).code).toBe(0)
    const file = path.join(w.dir, 'ex', 'club.group.yaml')
    for (const name of ['ben', 'cy']) expect((await w.cli(name, ['join', file])).code).toBe(0)
    const names = ['ana', 'ben', 'cy']
    for (const name of names) {
      const c = await w.cli(name, ['contribute'])
      expect([c.code, c.stderr]).toEqual([0, ''])
    }
    const phase = async () => json((await w.cli('ana', ['status', '--json'])).stdout).rounds as { phase: string }[]
    expect((await phase())[0]).toMatchObject({ round: '0001', phase: 'mask', commits: 3 })
    for (let pass = 0; pass < 3 && (await phase())[0]!.phase !== 'done'; pass++)
      for (const name of names) expect((await w.cli(name, ['pull'])).code).toBe(0)
    expect(await phase()).toEqual([expect.objectContaining({ round: '0001', phase: 'done', commits: 3, bundles: 3 })])
    const s = json((await w.cli('cy', ['status', '--json'])).stdout)
    expect(s.budget).toMatchObject({ spentEpsilon: 1, leftEpsilon: 3 })
    // nothing on the exchange, the group file included, names a member's home
    for (const f of filesUnder(path.join(w.dir, 'ex')))
      for (const name of names) expect([f, readFileSync(f, 'utf8').includes(w.homeOf(name))]).toEqual([f, false])
  })

  it('refuses: a bad group file (at file:line:column), a second group, a taken file, not a member', async () => {
    const w = world()
    const notYet = await w.cli('ana', ['status'])
    expect(notYet.code).toBe(1)
    expect(notYet.stderr.trim()).toBe(
      '✗ FEDERATION_MEMBERSHIP: this Mirador is not in a federation group; run `mirador federation init GROUP ' +
        '--exchange …` or `mirador federation join GROUP_FILE`',
    )

    const one = await w.cli('ana', ['init', 'one', '--exchange', 'ex1'])
    expect(one.code).toBe(0)
    // the founder sees what the group will share
    expect(one.stdout).toMatch(/^ {2}shared over: query types general, planning, code; chains .*quick-deep/m)
    const file = path.join(w.dir, 'ex1', 'one.group.yaml')
    const twice = await w.cli('ana', ['init', 'two', '--exchange', 'ex2'])
    expect(twice.code).toBe(1)
    expect(twice.stderr).toMatch(/^✗ FEDERATION_MEMBERSHIP: .* already, .*run `mirador federation leave` first\n$/)
    const taken = await w.cli('ben', ['init', 'one', '--exchange', 'ex1'])
    expect(taken.code).toBe(1)
    expect(taken.stderr).toMatch(/^✗ FILE_EXISTS: .*one\.group\.yaml exists already: to join that group run/)

    const bad = path.join(w.dir, 'bad.group.yaml')
    writeFileSync(bad, readFileSync(file, 'utf8').replace('epsilon: 1', 'epsilon: 9'))
    const refused = await w.cli('ben', ['join', 'bad.group.yaml'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/^✗ CONFIG_INVALID: .*bad\.group\.yaml:13:12: privacy\.epsilon: must be <= 5/)
    expect(existsSync(path.join(w.homeOf('ben'), 'federation', 'membership.json'))).toBe(false)
    // chain validate knows group files: the schema, then what the schema cannot say (a member listed twice)
    const env = { MIRADOR_HOME: w.homeOf('ana') }
    const good = await runCli(['chain', 'validate', file, '--json'], { cwd: w.dir, env })
    expect([good.code, JSON.parse(good.stdout).files[0]]).toEqual([
      0,
      expect.objectContaining({ kind: 'federation-group' }),
    ])
    const schemaBad = await runCli(['chain', 'validate', 'bad.group.yaml'], { cwd: w.dir, env })
    expect([schemaBad.code, schemaBad.stderr]).toEqual([
      1,
      expect.stringMatching(/bad\.group\.yaml:13:12: CONFIG_INVALID/),
    ])
    const twiceFile = path.join(w.dir, 'twice.group.yaml')
    const entry = readFileSync(file, 'utf8').split('members:\n')[1]!
    writeFileSync(twiceFile, readFileSync(file, 'utf8') + entry)
    const dup = await runCli(['chain', 'validate', 'twice.group.yaml'], { cwd: w.dir, env })
    expect(dup.code).toBe(1)
    expect(dup.stderr).toMatch(
      /twice\.group\.yaml:\d+:\d+: CONFIG_INVALID: the member id m-[0-9a-f]{8} is listed twice/,
    )

    const badId = await w.cli('ben', ['join', file, '--id', 'Ben Smith'])
    expect([badId.code, badId.stderr]).toEqual([2, expect.stringMatching(/^✗ USAGE: --id "Ben Smith" is not/)])

    expect((await w.cli('ben', ['join', file])).code).toBe(0)
    const other = await w.cli('ben', ['join', bad])
    expect(other.code).toBe(1)
    expect(other.stderr).toMatch(/FEDERATION_MEMBERSHIP: .*one group for now/)
  })

  it('leave asks (refuses without a terminal or --yes), then removes federation/ and keys/federation/', async () => {
    const w = world()
    expect((await w.cli('ana', ['init', 'g', '--exchange', 'ex'])).code).toBe(0)
    const home = w.homeOf('ana')
    expect(existsSync(path.join(home, 'federation', 'membership.json'))).toBe(true)
    expect(existsSync(path.join(home, 'keys', 'federation', 'signing.pem'))).toBe(true)

    const asked = await w.cli('ana', ['leave'])
    expect(asked.code).toBe(2)
    expect(asked.stderr).toMatch(/USAGE: Leave the group .* Run again with --yes to confirm/)
    expect(existsSync(path.join(home, 'federation'))).toBe(true)

    const left = await w.cli('ana', ['leave', '--yes'])
    expect(left.code).toBe(0)
    expect(left.stdout).toMatch(/^✓ removed /)
    expect(left.stdout).toMatch(/to be removed from the group, delete its entry "- id: m-\w+"/)
    expect(existsSync(path.join(home, 'federation'))).toBe(false)
    expect(existsSync(path.join(home, 'keys', 'federation'))).toBe(false)
    // the shared group file and the exchange are left alone
    expect(readFileSync(path.join(w.dir, 'ex', 'g.group.yaml'), 'utf8')).toContain('- id: m-')

    const status = await w.cli('ana', ['status'])
    expect(status.code).toBe(1)
    expect(status.stderr).toMatch(/FEDERATION_MEMBERSHIP: this Mirador is not in a federation group/)
    const again = await w.cli('ana', ['leave', '--yes', '--json'])
    expect(json(again.stdout)).toMatchObject({ removed: false })
  })
})
