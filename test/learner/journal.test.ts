import { afterAll, describe, expect, it } from '@jest/globals'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { MemoryCipher } from '../../src/lib/crypto.js'
import { sessionHash } from '../../src/lib/session-hash.js'
import { seededRandom } from '../../src/plugins/learner/bandit.js'
import {
  Journal,
  lastRating,
  ratingContext,
  rebuildWeights,
  replaceRating,
  updateWeight,
  type JournalOptions,
} from '../../src/plugins/learner/journal.js'
import type { JournalEntry, RunEntry, WeightState } from '../../src/plugins/learner/types.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** a module of this project as an import specifier, for scripts run in another process */
const moduleUrl = (file: string) => JSON.stringify(pathToFileURL(path.join(ROOT, file)).href)
const scratch = mkdtempSync(path.join(tmpdir(), 'mirador-journal-'))
let n = 0
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const newKey = () => new MemoryCipher(randomBytes(32), 'keyfile', 'test key')

function fresh(onWarning?: (m: string) => void, options: JournalOptions = {}) {
  const home = path.join(scratch, `h${n++}`)
  const key = newKey()
  const opts: JournalOptions = { key: async () => key, ...options, ...(onWarning ? { onWarning } : {}) }
  return {
    home,
    key,
    journal: new Journal(home, opts),
    reopen: (o: JournalOptions = {}) => new Journal(home, { ...opts, ...o }),
  }
}

let clock = Date.UTC(2025, 0, 1)
const vec = (...values: number[]) => ({ embedder: 'test/2', values })
const run = (id: string, over: Partial<RunEntry> = {}): RunEntry => ({
  kind: 'run',
  runId: id,
  chain: 'quick-deep',
  type: 'planning',
  vector: vec(1, 0),
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
/** a run line as journals kept them before sealing: the query and the session name in the clear */
const oldRun = (id: string, query: string, session?: string) =>
  JSON.stringify({
    kind: 'run',
    runId: id,
    chain: 'quick-deep',
    type: 'planning',
    query,
    at: (clock += 1000),
    ...(session ? { session } : {}),
  })

/** vectors come back quantised to a byte per component: compare them loosely */
function withoutVectors(entries: JournalEntry[]): JournalEntry[] {
  return entries.map((e) => {
    if (e.kind !== 'run' || !e.vector) return e
    const { vector: _v, ...rest } = e
    return rest
  })
}

describe('Journal', () => {
  it('appends one line per entry and reads them back in order; the file is private', async () => {
    const { journal } = fresh()
    expect(await journal.read()).toEqual([])
    expect(await journal.lastRun()).toBeUndefined()
    const entries: JournalEntry[] = [
      run('r1'),
      rating('r1', 5),
      run('r2', { chain: 'deep-only', file: '/x/deep-only.yaml', session: 'a'.repeat(64), vector: vec(0.6, 0.8) }),
      { kind: 'set', chain: 'deep-only', type: 'planning', weight: 0.7, at: 1 },
      { kind: 'undo', runId: 'r1', ratingAt: 5, at: 6 },
    ]
    for (const e of entries) await journal.append(e)
    const back = await journal.read()
    expect(withoutVectors(back)).toEqual(withoutVectors(entries))
    const v = (back[2] as RunEntry).vector!
    expect(v.embedder).toBe('test/2')
    expect(v.values[0]).toBeCloseTo(0.6, 2)
    expect(v.values[1]).toBeCloseTo(0.8, 2)
    const text = readFileSync(journal.file, 'utf8')
    expect(text.split('\n')).toHaveLength(entries.length + 1)
    expect(text.endsWith('\n')).toBe(true)
    expect(statSync(journal.file).mode & 0o777).toBe(0o600)
    expect(statSync(path.dirname(journal.file)).mode & 0o777).toBe(0o700)
    expect((await journal.lastRun())?.runId).toBe('r2')
    expect((await journal.findRun('r1'))?.chain).toBe('quick-deep')
    expect(await journal.findRun('nope')).toBeUndefined()
    // ratings only: no key needed
    const keyless = new Journal(path.dirname(path.dirname(journal.file)))
    expect((await keyless.read({ runs: false })).map((e) => e.kind)).toEqual(['rating', 'set', 'undo'])
    await expect(keyless.read()).rejects.toMatchObject({ code: 'INTERNAL' })
    // only the runs asked for
    expect((await journal.read({ runs: (id) => id === 'r2' })).map((e) => e.kind)).toEqual([
      'rating',
      'run',
      'set',
      'undo',
    ])
  })

  it('keeps only the id and time of a run in the clear: chain, file, type, session and vector are sealed', async () => {
    const { journal } = fresh()
    await journal.append(
      run('r1', {
        chain: 'secret-chain',
        file: '/home/me/chains/secret-chain.yaml',
        type: 'medical',
        session: 'f'.repeat(64),
      }),
    )
    const line = JSON.parse(readFileSync(journal.file, 'utf8').trim()) as Record<string, unknown>
    expect(Object.keys(line).sort()).toEqual(['at', 'kind', 'runId', 'sealed'])
    expect(line.sealed).toMatch(/^v1:/)
    expect(readFileSync(journal.file, 'utf8')).not.toMatch(/secret|medical|ffff/)
    // text and session names never go in
    await expect(journal.append({ ...run('r2'), legacy: { query: 'q' } })).rejects.toMatchObject({ code: 'INTERNAL' })
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
    appendFileSync(journal.file, JSON.stringify(rating('r2', 3)).slice(0, 40))
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
    await journal.read({ onWarning: (m) => mine.push(m) })
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

  it('a run sealed with another key is skipped and reported; a forget drops it', async () => {
    const warnings: string[] = []
    const { journal, reopen } = fresh()
    await journal.append(run('r1'))
    await journal.append(rating('r1', 5))
    const other = newKey()
    const later = reopen({ key: async () => other, onWarning: (m) => warnings.push(m) })
    expect((await later.read()).map((e) => e.kind)).toEqual(['rating'])
    expect(warnings.join('\n')).toMatch(/skipped run r1: .*another key/)
    expect(await later.findRun('r1')).toBeUndefined()
    await later.append(run('r2'))
    expect(await later.forget({ runIds: new Set(['nothing']) })).toBe(0)
    expect(readFileSync(journal.file, 'utf8').trim().split('\n')).toHaveLength(2) // the rating and r2
    expect((await later.read()).map((e) => e.kind)).toEqual(['rating', 'run'])
  })

  it('forget removes the embedding and session of matching runs, keeps the rest: weights do not move', async () => {
    const { journal, key } = fresh()
    const work = sessionHash(key, 'work')
    await journal.append(run('r1', { session: work }))
    await journal.append(rating('r1', 5))
    await journal.append(run('r2', { session: sessionHash(key, 'home') }))
    await journal.append(rating('r2', 2, 'quick-deep', 'planning'))
    await journal.append(run('r3', { vector: undefined }))
    await journal.append(run('r4', { type: 'coding', chain: 'deep-only' }))
    await journal.append(rating('r4', 4, 'deep-only', 'coding'))
    const before = await journal.read()
    const weightsBefore = rebuildWeights(before)

    expect(await journal.forget({ session: 'work' })).toBe(1)
    expect(await journal.forget({ runIds: new Set(['r3', 'r4']) })).toBe(1) // r3 has nothing to forget
    const after = await journal.read()
    expect(after).toHaveLength(before.length)
    const r1 = (await journal.findRun('r1'))!
    expect(r1).toEqual({
      kind: 'run',
      runId: 'r1',
      chain: 'quick-deep',
      type: 'planning',
      at: (before[0] as RunEntry).at,
    })
    expect((await journal.findRun('r4'))?.vector).toBeUndefined()
    expect((await journal.findRun('r2'))?.session).toBe(sessionHash(key, 'home'))
    expect((await journal.findRun('r2'))?.vector).toBeDefined()
    expect(after.filter((e) => e.kind === 'rating')).toEqual(before.filter((e) => e.kind === 'rating'))
    expect(rebuildWeights(after)).toEqual(weightsBefore)
    expect(statSync(journal.file).mode & 0o777).toBe(0o600)

    // by time: r2 is the only one left with something to forget
    const ino = statSync(journal.file).ino
    expect(await journal.forget({ before: Date.now() })).toBe(1)
    const ino2 = statSync(journal.file).ino
    expect(ino2).not.toBe(ino)
    // nothing to forget: the file is not rewritten
    expect(await journal.forget({ before: Date.now() })).toBe(0)
    expect(statSync(journal.file).ino).toBe(ino2)
    expect(await new Journal(path.join(scratch, 'never')).forget({ all: true })).toBe(0)

    // all: every run record goes, the ratings stay (and need no key)
    expect(await new Journal(path.dirname(path.dirname(journal.file))).forget({ all: true })).toBe(4)
    const left = await journal.read()
    expect(left.every((e) => e.kind === 'rating')).toBe(true)
    expect(rebuildWeights(left)).toEqual(weightsBefore)
  })

  it('forget drops unreadable lines (a torn run line may hold text)', async () => {
    const { journal } = fresh()
    await journal.append(rating('r0', 5))
    appendFileSync(journal.file, '{"kind":"run","runId":"r1","query":"my secret pla')
    expect(await journal.forget({ runIds: new Set() })).toBe(0)
    expect(readFileSync(journal.file, 'utf8')).not.toMatch(/secret/)
    expect(await journal.read()).toHaveLength(1)
  })

  it('an old journal (text and session names in the clear) is read as it is, sealed by its first write', async () => {
    const embedded: string[] = []
    const { home, key, reopen } = fresh(undefined, {
      embed: async (texts) => {
        embedded.push(...texts)
        return texts.map((t) => vec(t.includes('python') ? 1 : 0, t.includes('python') ? 0 : 1))
      },
    })
    mkdirSync(path.join(home, 'learner'), { recursive: true })
    const file = path.join(home, 'learner', 'journal.jsonl')
    writeFileSync(
      file,
      [
        oldRun('r1', 'fix my python script', 'Café-work'),
        JSON.stringify(rating('r1', 5)),
        oldRun('r2', 'a poem about my dentist Dr Quokka'),
        JSON.stringify(rating('r2', 2)),
        JSON.stringify(rating('r2', 4)),
        '',
      ].join('\n'),
      { mode: 0o600 },
    )
    const journal = reopen()
    const weights = rebuildWeights(await journal.read({ runs: false }))
    // read as it is: the text is there for the classifier until the first write
    expect((await journal.findRun('r1'))?.legacy).toEqual({ query: 'fix my python script', session: 'Café-work' })
    expect(readFileSync(file, 'utf8')).toMatch(/Dr Quokka/)

    await journal.append(run('r3'))
    const text = readFileSync(file, 'utf8')
    expect(text).not.toMatch(/python|Quokka|Café|work/)
    expect(embedded).toEqual(['fix my python script', 'a poem about my dentist Dr Quokka'])
    const r1 = (await journal.findRun('r1'))!
    expect(r1.legacy).toBeUndefined()
    expect(r1.session).toBe(sessionHash(key, 'Café-work'))
    expect(r1.vector?.values[0]).toBeCloseTo(1, 5)
    expect((await journal.findRun('r3'))?.runId).toBe('r3')
    // never a rating lost
    expect(rebuildWeights(await journal.read({ runs: false }))).toEqual(weights)
    expect((await journal.read({ runs: false })).filter((e) => e.kind === 'rating')).toHaveLength(3)
    // the session, forgotten by its name, reaches the sealed record (the name NFD-typed: the same session)
    expect(await journal.forget({ session: 'Café-work'.normalize('NFD') })).toBe(1)
    expect((await journal.findRun('r1'))?.session).toBeUndefined()
  })

  it('a forget seals an old journal too, matching session names in the clear', async () => {
    const { home, reopen } = fresh()
    mkdirSync(path.join(home, 'learner'), { recursive: true })
    const file = path.join(home, 'learner', 'journal.jsonl')
    writeFileSync(file, [oldRun('r1', 'my travel plan', 'trip'), oldRun('r2', 'other words'), ''].join('\n'))
    const journal = reopen()
    expect(await journal.forget({ session: 'trip' })).toBe(1)
    expect(readFileSync(file, 'utf8')).not.toMatch(/travel|trip|other words/)
    expect((await journal.read()).map((e) => e.kind === 'run' && e.chain)).toEqual(['quick-deep', 'quick-deep'])
  })

  it('appenders in several processes lose no line, even while the journal is being rewritten', async () => {
    const { home } = fresh()
    mkdirSync(home, { recursive: true })
    // every process seals with the same key, as they would with $MIRADOR_HOME/keys/memory.key
    const keyFile = path.join(home, 'test.key')
    const raw = randomBytes(32)
    writeFileSync(keyFile, raw)
    const keyed = new Journal(home, { key: async () => new MemoryCipher(raw, 'keyfile', keyFile) })
    const script = path.join(scratch, 'append.ts')
    writeFileSync(
      script,
      [
        `import { Journal } from ${moduleUrl('src/plugins/learner/journal.ts')}`,
        `import { MemoryCipher } from ${moduleUrl('src/lib/crypto.ts')}`,
        `import { existsSync, readFileSync, writeFileSync } from 'node:fs'`,
        `const [home, tag, count, keyFile] = process.argv.slice(2)`,
        `const key = new MemoryCipher(readFileSync(keyFile), 'keyfile', keyFile)`,
        `const journal = new Journal(home, { key: async () => key })`,
        `writeFileSync(home + '/ready-' + tag, '')`,
        `while (!existsSync(home + '/go')) await new Promise((r) => setTimeout(r, 1))`,
        `for (let i = 0; i < Number(count); i++)`,
        `  await journal.append({`,
        `    kind: 'run', runId: tag + '-' + i, chain: 'c', type: 't', at: Date.now(),`,
        `    vector: { embedder: 'test/2', values: [1, 0] },`,
        `  })`,
        `console.log('done ' + tag)`,
      ].join('\n'),
    )
    const tags = ['A', 'B', 'C', 'D']
    const per = 40
    const children = Promise.all(
      tags.map((tag) =>
        promisify(execFile)(
          process.execPath,
          ['--import', './test/support/ts-loader.mjs', script, home, tag, String(per), keyFile],
          { cwd: ROOT },
        ),
      ),
    )
    children.catch(() => {}) // awaited below
    const deadline = Date.now() + 30_000
    while (!tags.every((t) => existsSync(path.join(home, `ready-${t}`))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5))
    writeFileSync(path.join(home, 'go'), '')
    // meanwhile this process forgets over and over (rewriting the file by rename)
    let rewrites = 0
    let done = false
    void children.finally(() => (done = true)).catch(() => {})
    const ids = new Set(
      tags.flatMap((t) => Array.from({ length: per }, (_, i) => `${t}-${i}`)).filter((id) => id.endsWith('5')),
    )
    while (!done) {
      rewrites += (await keyed.forget({ runIds: ids })) > 0 ? 1 : 0
      await new Promise((r) => setTimeout(r, 3))
    }
    const outs = await children
    expect(outs.map((o) => o.stdout.trim())).toEqual(tags.map((t) => `done ${t}`))
    const warnings: string[] = []
    const runs = (await keyed.read({ onWarning: (m) => warnings.push(m) })).map((e) =>
      e.kind === 'run' ? e.runId : '',
    )
    expect(warnings).toEqual([])
    expect(runs).toHaveLength(tags.length * per)
    for (const tag of tags)
      expect(runs.filter((id) => id.startsWith(`${tag}-`))).toEqual(
        Array.from({ length: per }, (_, i) => `${tag}-${i}`),
      )
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

  it('a run rated again replaces its rating, and an undone rating no longer counts: replay = incremental', () => {
    const rng = seededRandom(11)
    const entries: JournalEntry[] = []
    const live = new Map<string, WeightState>()
    const stateOf = (c: string, t: string) => live.get(`${c}/${t}`) ?? { weight: 0.5, count: 0 }
    /** per chain, the rewrites a rollback walks back through: the rating and the state before it */
    const rewrites = new Map<string, { key: string; before: WeightState; runId: string; at: number }[]>()
    const runsOf: { id: string; chain: string; type: string }[] = []
    let at = 0
    for (let i = 0; i < 400; i++) {
      const roll = rng()
      if (roll < 0.1) {
        // learn rollback of a chain: its last rewrite goes, and the journal says which rating
        const chain = ['a', 'b'][Math.floor(rng() * 2)]!
        const last = rewrites.get(chain)?.pop()
        if (!last) continue
        live.set(last.key, last.before)
        entries.push({ kind: 'undo', runId: last.runId, ratingAt: last.at, at: ++at })
        continue
      }
      const again = roll < 0.4 && runsOf.length > 0
      const r = again
        ? runsOf[Math.floor(rng() * runsOf.length)]!
        : { id: `r${i}`, chain: ['a', 'b'][Math.floor(rng() * 2)]!, type: ['x', 'y'][Math.floor(rng() * 2)]! }
      if (!again) runsOf.push(r)
      const value = 1 + Math.floor(rng() * 5)
      const e = { kind: 'rating' as const, runId: r.id, chain: r.chain, type: r.type, rating: value, at: ++at }
      entries.push(e)
      // as the learner does it: the journal's view when the file is rewritten
      const { count, previous } = ratingContext(entries, e)
      const key = `${r.chain}/${r.type}`
      const before = stateOf(r.chain, r.type)
      const state = { weight: before.weight, count }
      live.set(
        key,
        previous === undefined ? updateWeight(state, value >= 4) : replaceRating(state, previous, value >= 4),
      )
      const stack = rewrites.get(r.chain) ?? []
      stack.push({ key, before, runId: r.id, at: e.at })
      rewrites.set(r.chain, stack)
    }
    const rebuilt = rebuildWeights(entries)
    for (const [key, s] of live) {
      const [c, t] = key.split('/') as [string, string]
      expect(rebuilt[c]?.[t]?.count ?? 0).toBe(s.count)
      expect(rebuilt[c]?.[t]?.weight ?? 0.5).toBeCloseTo(s.weight, 10)
    }
    // counts are runs, not ratings
    const runs = new Set(entries.flatMap((e) => (e.kind === 'rating' ? [e.runId] : [])))
    const total = Object.values(rebuilt)
      .flatMap((t) => Object.values(t))
      .reduce((a, s) => a + s.count, 0)
    expect(total).toBeLessThanOrEqual(runs.size)
    expect(entries.filter((e) => e.kind === 'undo').length).toBeGreaterThan(5)
  })

  it('rating a run twice counts once; an undo brings back the rating it replaced', () => {
    const r1 = rating('x', 1)
    const r2 = rating('x', 5)
    expect(rebuildWeights([r1, r2])).toEqual({
      'quick-deep': { planning: updateWeight({ weight: 0.5, count: 0 }, true) },
    })
    expect(lastRating([r1, r2], 'x')).toBe(r2)
    const undo: JournalEntry = { kind: 'undo', runId: 'x', ratingAt: r2.at, at: r2.at + 1 }
    expect(rebuildWeights([r1, r2, undo])).toEqual({
      'quick-deep': { planning: updateWeight({ weight: 0.5, count: 0 }, false) },
    })
    expect(lastRating([r1, r2, undo], 'x')).toBe(r1)
    expect(replaceRating({ weight: 0.5, count: 1 }, true, false)).toEqual({ weight: (0.5 * 3 - 1) / 3, count: 1 })
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
