import { afterAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { seededRandom } from '../../src/plugins/learner/bandit.js'
import { Journal, rebuildWeights, updateWeight } from '../../src/plugins/learner/journal.js'
import type { JournalEntry, WeightState } from '../../src/plugins/learner/types.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** a module of this project as an import specifier, for scripts run in another process */
const moduleUrl = (file: string) => JSON.stringify(pathToFileURL(path.join(ROOT, file)).href)
const scratch = mkdtempSync(path.join(tmpdir(), 'mirador-journal-'))
let n = 0
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

function fresh(onWarning?: (m: string) => void) {
  const home = path.join(scratch, `h${n++}`)
  return { home, journal: new Journal(home, onWarning ? { onWarning } : {}) }
}

let clock = Date.UTC(2025, 0, 1)
const run = (id: string, over: Partial<Extract<JournalEntry, { kind: 'run' }>> = {}): JournalEntry => ({
  kind: 'run',
  runId: id,
  chain: 'quick-deep',
  type: 'planning',
  query: `plan number ${id}`,
  at: (clock += 1000),
  ...over,
})
const rating = (id: string, value: number, chain = 'quick-deep', type = 'planning'): JournalEntry => ({
  kind: 'rating',
  runId: id,
  chain,
  type,
  rating: value,
  at: (clock += 1000),
})

describe('Journal', () => {
  it('appends one line per entry and reads them back in order; the file is private', async () => {
    const { journal } = fresh()
    expect(await journal.read()).toEqual([])
    expect(await journal.lastRun()).toBeUndefined()
    const entries = [
      run('r1'),
      rating('r1', 5),
      run('r2', { chain: 'deep-only', file: '/x/deep-only.yaml' }),
      { kind: 'set', chain: 'deep-only', type: 'planning', weight: 0.7, at: 1 } as JournalEntry,
    ]
    for (const e of entries) await journal.append(e)
    expect(await journal.read()).toEqual(entries)
    expect(journal.readSync()).toEqual(entries)
    const text = readFileSync(journal.file, 'utf8')
    expect(text.split('\n')).toHaveLength(entries.length + 1)
    expect(text.endsWith('\n')).toBe(true)
    expect(statSync(journal.file).mode & 0o777).toBe(0o600)
    expect(statSync(path.dirname(journal.file)).mode & 0o777).toBe(0o700)
    expect((await journal.lastRun())?.runId).toBe('r2')
    expect((await journal.findRun('r1'))?.query).toBe('plan number r1')
    expect(await journal.findRun('nope')).toBeUndefined()
  })

  it('refuses to append something that is not an entry', async () => {
    const { journal } = fresh()
    const incomplete = JSON.parse('{ "kind": "rating", "runId": "x" }')
    await expect(journal.append(incomplete)).rejects.toMatchObject({
      code: 'INTERNAL',
    })
  })

  it('skips a torn last line and says so; the next append starts on a new line', async () => {
    const warnings: string[] = []
    const { journal } = fresh((m) => warnings.push(m))
    await journal.append(run('r1'))
    await journal.append(rating('r1', 4))
    // a crash in the middle of an append: half a line, no newline
    appendFileSync(journal.file, JSON.stringify(run('r2')).slice(0, 40))
    expect((await journal.read()).map((e) => e.kind)).toEqual(['run', 'rating'])
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/incomplete last line/)

    await journal.append(run('r3'))
    warnings.length = 0
    const after = await journal.read()
    // r3 not swallowed by the torn line
    expect(after.map((e) => (e.kind === 'set' ? '' : e.runId))).toEqual(['r1', 'r1', 'r3'])
    expect(warnings).toEqual([`${journal.file}:3: skipped a line that is not a journal entry`])
    // a per-call callback overrides the constructor's
    const mine: string[] = []
    journal.readSync({ onWarning: (m) => mine.push(m) })
    expect(mine).toHaveLength(1)
  })

  it('accepts a complete last line that only lacks its newline, and skips damaged lines anywhere', async () => {
    const warnings: string[] = []
    const { journal } = fresh((m) => warnings.push(m))
    await journal.append(run('r1'))
    appendFileSync(journal.file, 'not json\n{"kind":"rating","runId":"r1"}\n\n' + JSON.stringify(rating('r1', 2)))
    const entries = await journal.read()
    expect(entries.map((e) => e.kind)).toEqual(['run', 'rating'])
    expect(warnings).toHaveLength(2)
  })

  it('forget removes the text of matching runs and keeps everything else, so weights do not move', async () => {
    const { journal } = fresh()
    await journal.append(run('r1', { session: 'work' } as Partial<Extract<JournalEntry, { kind: 'run' }>>))
    await journal.append(rating('r1', 5))
    await journal.append(run('r2'))
    await journal.append(rating('r2', 2, 'quick-deep', 'planning'))
    await journal.append(run('r3', { query: undefined }))
    await journal.append(run('r4', { type: 'coding', chain: 'deep-only' }))
    await journal.append(rating('r4', 4, 'deep-only', 'coding'))
    const before = await journal.read()
    const weightsBefore = rebuildWeights(before)

    const offered: string[] = []
    const count = await journal.forget((r) => {
      offered.push(r.runId)
      return r.runId === 'r1' || r.runId === 'r3' || r.runId === 'r4'
    })
    expect(offered).toEqual(['r1', 'r2', 'r4']) // r3 has no text to forget
    expect(count).toBe(2)
    const after = await journal.read()
    expect(after).toHaveLength(before.length)
    expect(readFileSync(journal.file, 'utf8')).not.toMatch(/plan number r1|plan number r4/)
    expect((await journal.findRun('r2'))?.query).toBe('plan number r2')
    const r1 = await journal.findRun('r1')
    expect(r1).toEqual({
      kind: 'run',
      runId: 'r1',
      chain: 'quick-deep',
      type: 'planning',
      session: 'work',
      at: (before[0] as { at: number }).at,
    })
    expect(after.filter((e) => e.kind === 'rating')).toEqual(before.filter((e) => e.kind === 'rating'))
    expect(rebuildWeights(after)).toEqual(weightsBefore)
    expect(statSync(journal.file).mode & 0o777).toBe(0o600)

    // nothing to forget: the file is not rewritten
    const ino = statSync(journal.file).ino
    expect(await journal.forget(() => true)).toBe(1) // r2
    const ino2 = statSync(journal.file).ino
    expect(ino2).not.toBe(ino)
    expect(await journal.forget(() => true)).toBe(0)
    expect(statSync(journal.file).ino).toBe(ino2)
    expect(await new Journal(path.join(scratch, 'never')).forget(() => true)).toBe(0)
  })

  it('forget drops unreadable lines (a torn run line may hold text)', async () => {
    const { journal } = fresh()
    await journal.append(rating('r0', 5))
    appendFileSync(journal.file, '{"kind":"run","runId":"r1","query":"my secret pla')
    expect(await journal.forget(() => false)).toBe(0)
    expect(readFileSync(journal.file, 'utf8')).not.toMatch(/secret/)
    expect(await journal.read()).toHaveLength(1)
  })

  it('appenders in several processes lose no line, even while the journal is being rewritten', async () => {
    const { home, journal } = fresh()
    const script = path.join(scratch, 'append.ts')
    writeFileSync(
      script,
      [
        `import { Journal } from ${moduleUrl('src/plugins/learner/journal.ts')}`,
        `import { existsSync, writeFileSync } from 'node:fs'`,
        `const [home, tag, count] = process.argv.slice(2)`,
        `const journal = new Journal(home)`,
        `writeFileSync(home + '/ready-' + tag, '')`,
        `while (!existsSync(home + '/go')) await new Promise((r) => setTimeout(r, 1))`,
        `for (let i = 0; i < Number(count); i++)`,
        `  await journal.append({`,
        `    kind: 'run', runId: tag + '-' + i, chain: 'c', type: 't', query: 'q ' + i, at: Date.now(),`,
        `  })`,
        `console.log('done ' + tag)`,
      ].join('\n'),
    )
    const tags = ['A', 'B', 'C', 'D']
    const per = 40
    const { mkdirSync } = await import('node:fs')
    mkdirSync(home, { recursive: true })
    const children = Promise.all(
      tags.map((tag) =>
        promisify(execFile)(
          process.execPath,
          ['--import', './test/support/ts-loader.mjs', script, home, tag, String(per)],
          { cwd: ROOT },
        ),
      ),
    )
    children.catch(() => {}) // awaited below
    const deadline = Date.now() + 30_000
    while (!tags.every((t) => existsSync(path.join(home, `ready-${t}`))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5))
    writeFileSync(path.join(home, 'go'), '')
    // meanwhile this process forgets text over and over (rewriting the file by rename)
    let rewrites = 0
    let done = false
    void children.finally(() => (done = true)).catch(() => {})
    while (!done) {
      rewrites += (await journal.forget((r) => r.runId.endsWith('-0') || r.runId.endsWith('5'))) > 0 ? 1 : 0
      await new Promise((r) => setTimeout(r, 3))
    }
    const outs = await children
    expect(outs.map((o) => o.stdout.trim())).toEqual(tags.map((t) => `done ${t}`))
    const warnings: string[] = []
    const ids = (await journal.read({ onWarning: (m) => warnings.push(m) })).map((e) =>
      e.kind === 'set' ? '' : e.runId,
    )
    expect(warnings).toEqual([])
    expect(ids).toHaveLength(tags.length * per)
    for (const tag of tags)
      expect(ids.filter((id) => id.startsWith(`${tag}-`))).toEqual(Array.from({ length: per }, (_, i) => `${tag}-${i}`))
    expect(rewrites).toBeGreaterThan(0)
  }, 60_000)
})

describe('weights', () => {
  it('updateWeight is the posterior mean with the YAML weight as a prior of strength n0', () => {
    for (const [w0, n0] of [
      [0.5, 2],
      [0.9, 2],
      [0.2, 5],
      [0.7, 0],
    ] as const) {
      let s: WeightState = { weight: w0, count: 0 }
      let succ = 0
      const outcomes = [true, false, true, true, false, false, true, true, true, false]
      for (const x of outcomes) {
        s = updateWeight(s, x, n0)
        succ += x ? 1 : 0
        expect(s.weight).toBeCloseTo((w0 * n0 + succ) / (n0 + s.count), 12)
      }
      expect(s.count).toBe(outcomes.length)
    }
    expect(updateWeight({ weight: 0.5, count: 0 }, true)).toEqual({ weight: 2 / 3, count: 1 }) // default n0 = 2
    expect(() => updateWeight({ weight: 0.5, count: 0 }, true, -1)).toThrow(/prior strength/)
  })

  it('rebuilding from the journal gives exactly the weights the incremental updates gave', async () => {
    const { journal } = fresh()
    const rng = seededRandom(7)
    const chains = ['quick-deep', 'deep-only', 'single']
    const types = ['planning', 'coding', 'general']
    const prior = (chain: string, type: string) =>
      chain === 'single' && type === 'coding' ? 0.8 : chain === 'deep-only' ? 0.3 : undefined
    const live = new Map<string, WeightState>()
    const stateOf = (c: string, t: string) => live.get(`${c}/${t}`) ?? { weight: prior(c, t) ?? 0.5, count: 0 }
    for (let i = 0; i < 200; i++) {
      const chain = chains[Math.floor(rng() * chains.length)]!
      const type = types[Math.floor(rng() * types.length)]!
      if (rng() < 0.05) {
        const weight = Math.round(rng() * 100) / 100
        await journal.append({ kind: 'set', chain, type, weight, at: i })
        live.set(`${chain}/${type}`, { weight, count: stateOf(chain, type).count })
        continue
      }
      await journal.append(run(`r${i}`, { chain, type }))
      const value = 1 + Math.floor(rng() * 5)
      await journal.append(rating(`r${i}`, value, chain, type))
      live.set(`${chain}/${type}`, updateWeight(stateOf(chain, type), value >= 4))
    }
    const rebuilt = rebuildWeights(await journal.read(), prior)
    const expected: Record<string, Record<string, WeightState>> = {}
    for (const [key, s] of live) {
      const [c, t] = key.split('/') as [string, string]
      ;(expected[c] ??= {})[t] = s
    }
    expect(rebuilt).toEqual(expected)
  })

  it('a set keeps the count, and other priorStrengths replay the same way', () => {
    const entries: JournalEntry[] = [
      rating('a', 5),
      rating('b', 1),
      { kind: 'set', chain: 'quick-deep', type: 'planning', weight: 0.9, at: 1 },
      rating('c', 4),
    ]
    const w = rebuildWeights(entries, undefined, { priorStrength: 4 })
    let s = updateWeight(updateWeight({ weight: 0.5, count: 0 }, true, 4), false, 4)
    s = updateWeight({ weight: 0.9, count: s.count }, true, 4)
    expect(w).toEqual({ 'quick-deep': { planning: s } })
    expect(s.count).toBe(3)
    // runs alone create no state; odd names are own properties
    expect(rebuildWeights([run('x')])).toEqual({})
    const odd = rebuildWeights([rating('y', 5, '__proto__', 'constructor')])
    expect(Object.keys(odd)).toEqual(['__proto__'])
    expect(Object.getPrototypeOf(odd)).toBe(Object.prototype)
  })
})
