import { afterAll, describe, expect, it } from '@jest/globals'
import { execFile, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { MiradorError } from '../../src/engine/errors.js'
import { loadCipher } from '../../src/lib/crypto.js'
import { SessionStore, validateSessionName, withFileLock, type SessionTurn } from '../../src/plugins/memory/sessions.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
/** a module of this project as an import specifier, for scripts run in another process */
const moduleUrl = (file: string) => JSON.stringify(pathToFileURL(path.join(ROOT, file)).href)
const scratch = mkdtempSync(path.join(tmpdir(), 'mirador-sessions-'))
let n = 0
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

async function fresh(options: ConstructorParameters<typeof SessionStore>[2] = {}) {
  const home = path.join(scratch, `h${n++}`)
  const cipher = await loadCipher({ home, env: {} })
  return { home, cipher, store: new SessionStore(home, cipher, options) }
}

let clock = Date.UTC(2025, 0, 1)
const turn = (i: number | string, over: Partial<SessionTurn> = {}): SessionTurn => ({
  runId: `r_${i}`,
  query: `question ${i}`,
  answer: `answer ${i}`,
  at: (clock += 1000),
  chain: 'quick-deep',
  ...over,
})

function errorOf(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e) {
    return e
  }
  return undefined
}

describe('session names', () => {
  it.each(['work', 'trip-2025', 'a.b_c', 'Ünïcode-名前', 'x'.repeat(64)])('accepts %j', (name) => {
    expect(validateSessionName(name)).toBe(name.normalize('NFC'))
  })
  it.each([
    ['', /required/],
    ['a b', /not allowed/],
    ['../etc', /not allowed/],
    ['a/b', /not allowed/],
    ['-flag', /not allowed/],
    ['.hidden', /not allowed/],
    ['x'.repeat(65), /limit is 64/],
  ])('refuses %j with a USAGE error', (name, why) => {
    const e = errorOf(() => validateSessionName(name))
    expect(MiradorError.is(e, 'USAGE')).toBe(true)
    expect((e as Error).message).toMatch(why)
  })
})

describe('session store', () => {
  it('appends and reads turns back; the file is sealed, 0600, named by a keyed hash, has no name or text', async () => {
    const { store, home } = await fresh()
    const query = 'how do I renew the passport of Ingrid Bergström'
    await store.appendTurn('family-admin', turn(1, { query }))
    await store.appendTurn('family-admin', turn(2))
    const s = await store.readSession('family-admin')
    expect(s?.name).toBe('family-admin')
    expect(s?.turns.map((t) => t.runId)).toEqual(['r_1', 'r_2'])
    expect(s?.turns[0]?.query).toBe(query)
    const files = readdirSync(path.join(home, 'sessions')).filter((f) => !f.endsWith('.lock'))
    expect(files).toHaveLength(1)
    expect(files[0]).toMatch(/^[0-9a-f]{32}\.session$/)
    const file = path.join(home, 'sessions', files[0]!)
    expect(file).toBe(store.fileFor('family-admin'))
    const bytes = readFileSync(file)
    for (const plain of [query, 'Bergström', 'family-admin', 'answer 2', 'quick-deep'])
      expect(bytes.includes(Buffer.from(plain))).toBe(false)
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(await store.readSession('other')).toBeUndefined()
  })

  it('the file name depends on the key, so a guessed name cannot be confirmed without it', async () => {
    const a = await fresh()
    const b = await fresh()
    expect(path.basename(a.store.fileFor('work'))).not.toBe(path.basename(b.store.fileFor('work')))
    expect(a.store.fileFor('work')).not.toBe(a.store.fileFor('Work'))
  })

  it('redacts turns before storing them, with configured patterns too', async () => {
    const { store } = await fresh({ redactPatterns: ['PRJ-\\d{4}'] })
    await store.appendTurn(
      's',
      turn(1, { query: 'my password=hunter2 for PRJ-1234', answer: 'write to bob@example.com' }),
    )
    const t = (await store.readSession('s'))!.turns[0]!
    expect(t.query).toBe('my password=[REDACTED:PASSWORD] for [REDACTED:CUSTOM]')
    expect(t.answer).toBe('write to [REDACTED:EMAIL]')
  })

  it('lists, removes turns before a date (dropping emptied sessions), removes one and all', async () => {
    const { store } = await fresh()
    clock = Date.UTC(2025, 1, 1)
    await store.appendTurn('old', turn('o1'))
    await store.appendTurn('mixed', turn('m1'))
    const cutoff = clock + 500
    await store.appendTurn('mixed', turn('m2'))
    await store.appendTurn('new', turn('n1'))
    const list = await store.listSessions()
    expect(list.map((s) => s.name)).toEqual(['new', 'mixed', 'old'])
    expect(list.find((s) => s.name === 'mixed')).toMatchObject({ turns: 2 })
    expect(await store.removeTurnsBefore(new Date(cutoff))).toBe(2)
    expect((await store.listSessions()).map((s) => [s.name, s.turns])).toEqual([
      ['new', 1],
      ['mixed', 1],
    ])
    expect(await store.removeSession('mixed')).toBe(true)
    expect(await store.removeSession('mixed')).toBe(false)
    expect(await store.removeAll()).toBe(1)
    expect(await store.listSessions()).toEqual([])
  })

  it('a session sealed with another key is refused with MEMORY_CRYPTO; listing can skip it', async () => {
    const { store, home } = await fresh()
    await store.appendTurn('s', turn(1))
    const other = new SessionStore(
      home,
      await loadCipher({ home, env: { MIRADOR_MEMORY_PASSPHRASE: 'pw' }, scrypt: { N: 1024, r: 8, p: 1 } }),
    )
    // different key → different file name: open the same file directly via listing
    await expect(other.listSessions()).rejects.toMatchObject({ code: 'MEMORY_CRYPTO' })
    const skipped: string[] = []
    expect(await other.listSessions({ onUnreadable: (f) => skipped.push(f) })).toEqual([])
    expect(skipped).toHaveLength(1)
  })

  it('a tampered session file is refused, never read as garbage', async () => {
    const { store } = await fresh()
    await store.appendTurn('s', turn(1))
    const file = store.fileFor('s')
    const text = readFileSync(file, 'utf8')
    writeFileSync(file, text.slice(0, 30) + (text[30] === 'Q' ? 'R' : 'Q') + text.slice(31))
    await expect(store.readSession('s')).rejects.toMatchObject({ code: 'MEMORY_CRYPTO' })
  })
})

describe('context for a continuing session', () => {
  it('recent turns verbatim, older ones summarised once and then served from the cache in the file', async () => {
    const { store, home, cipher } = await fresh()
    for (let i = 1; i <= 5; i++) await store.appendTurn('s', turn(i))
    const calls: string[][] = []
    const summarize = async (texts: string[]) => {
      calls.push(texts)
      return `summary#${calls.length}`
    }
    const c1 = await store.contextFor('s', { verbatim: 3, summarize })
    expect(c1.recent.map((t) => t.runId)).toEqual(['r_3', 'r_4', 'r_5'])
    expect(c1).toMatchObject({ summary: 'summary#1', older: 2, summarized: 'fresh' })
    expect(calls).toEqual([['Q: question 1\nA: answer 1', 'Q: question 2\nA: answer 2']])
    expect(c1.text).toBe(
      'Earlier in this conversation (summary): summary#1\n\n' +
        'Q: question 3\nA: answer 3\n\nQ: question 4\nA: answer 4\n\nQ: question 5\nA: answer 5',
    )

    // another process (a new store) sees the cached summary: no call
    const again = new SessionStore(home, cipher)
    const c2 = await again.contextFor('s', { verbatim: 3, summarize })
    expect(c2).toMatchObject({ summary: 'summary#1', summarized: 'cached' })
    expect(calls).toHaveLength(1)
    expect(readFileSync(store.fileFor('s')).includes(Buffer.from('summary#1'))).toBe(false)

    // one more turn pushes r_3 out of the verbatim window: only it is summarised, on top of the old summary
    await store.appendTurn('s', turn(6))
    const c3 = await store.contextFor('s', { verbatim: 3, summarize })
    expect(c3).toMatchObject({ summary: 'summary#2', older: 3, summarized: 'fresh' })
    expect(calls[1]).toEqual(['Summary of the conversation so far: summary#1', 'Q: question 3\nA: answer 3'])
    expect((await store.readSession('s'))?.summary).toMatchObject({
      through: 3,
      throughRunId: 'r_3',
      text: 'summary#2',
    })
  })

  it('a short session needs no summary; an empty one gives no context', async () => {
    const { store } = await fresh()
    expect(await store.contextFor('none')).toEqual({ recent: [], older: 0, summarized: 'none', text: '' })
    await store.appendTurn('s', turn(1))
    let called = false
    const c = await store.contextFor('s', {
      summarize: async () => {
        called = true
        return 'x'
      },
    })
    expect(c).toMatchObject({ older: 0, summarized: 'none' })
    expect(c.recent).toHaveLength(1)
    expect(called).toBe(false)
  })

  it('without summarize, or when it fails, falls back to the earlier questions and caches nothing', async () => {
    const { store } = await fresh()
    for (let i = 1; i <= 4; i++) await store.appendTurn('s', turn(i))
    const a = await store.contextFor('s', { verbatim: 2 })
    expect(a).toMatchObject({ summarized: 'fallback', summary: 'earlier questions: "question 1"; "question 2"' })
    const b = await store.contextFor('s', {
      verbatim: 2,
      summarize: async () => {
        throw new Error('model unreachable')
      },
    })
    expect(b).toMatchObject({ summarized: 'fallback', summaryError: 'model unreachable' })
    expect((await store.readSession('s'))?.summary).toBeUndefined()
  })

  it('forgetting turns drops a summary that covered them', async () => {
    const { store } = await fresh()
    clock = Date.UTC(2025, 2, 1)
    for (let i = 1; i <= 5; i++) await store.appendTurn('s', turn(i))
    await store.contextFor('s', { verbatim: 2, summarize: async () => 'mentions question 1' })
    expect((await store.readSession('s'))?.summary).toBeDefined()
    await store.removeTurnsBefore(Date.UTC(2025, 2, 1) + 1500)
    const s = await store.readSession('s')
    expect(s?.turns.map((t) => t.runId)).toEqual(['r_2', 'r_3', 'r_4', 'r_5'])
    expect(s?.summary).toBeUndefined()
  })
})

describe('concurrency', () => {
  it('concurrent appends in one process lose nothing', async () => {
    const { store } = await fresh()
    await Promise.all(Array.from({ length: 25 }, (_, i) => store.appendTurn('busy', turn(`p${i}`))))
    const s = await store.readSession('busy')
    expect(new Set(s?.turns.map((t) => t.runId)).size).toBe(25)
  })

  it('two processes appending to the same session at once lose no turn', async () => {
    const { home } = await fresh()
    const script = path.join(scratch, 'append.ts')
    writeFileSync(
      script,
      [
        `import { loadCipher } from ${moduleUrl('src/lib/crypto.ts')}`,
        `import { SessionStore } from ${moduleUrl('src/plugins/memory/sessions.ts')}`,
        `import { existsSync, writeFileSync } from 'node:fs'`,
        `const [home, tag, count] = process.argv.slice(2)`,
        `const store = new SessionStore(home, await loadCipher({ home, env: {} }))`,
        // a barrier: both processes are loaded before either starts appending
        `writeFileSync(home + '/ready-' + tag, '')`,
        `while (!existsSync(home + '/go')) await new Promise((r) => setTimeout(r, 1))`,
        `for (let i = 0; i < Number(count); i++)`,
        `  await store.appendTurn('shared', {`,
        `    runId: tag + '-' + i, query: 'q', answer: 'a', at: Date.now(), chain: 'c',`,
        `  })`,
        `console.log('done ' + tag)`,
      ].join('\n'),
    )
    const run = (tag: string) =>
      promisify(execFile)(process.execPath, ['--import', './test/support/ts-loader.mjs', script, home, tag, '40'], {
        cwd: ROOT,
      })
    const both = Promise.all([run('A'), run('B')])
    both.catch(() => {}) // awaited below; a child that dies early must not be an unhandled rejection meanwhile
    const deadline = Date.now() + 30_000
    while (!(existsSync(path.join(home, 'ready-A')) && existsSync(path.join(home, 'ready-B'))) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5))
    writeFileSync(path.join(home, 'go'), '')
    const [a, b] = await both
    expect(a.stdout.trim()).toBe('done A')
    expect(b.stdout.trim()).toBe('done B')
    const store = new SessionStore(home, await loadCipher({ home, env: {} }))
    const ids = (await store.readSession('shared'))!.turns.map((t) => t.runId)
    expect(ids).toHaveLength(80)
    for (const tag of ['A', 'B']) {
      const mine = ids.filter((id) => id.startsWith(tag + '-'))
      expect(mine).toEqual(Array.from({ length: 40 }, (_, i) => `${tag}-${i}`)) // each process's turns, in its order
    }
    // they really ran at the same time (otherwise the test proves little): each turn's `at` is taken
    // before its append waits for the lock, so the two processes' time spans must overlap
    const turns = (await store.readSession('shared'))!.turns
    const span = (tag: string) => {
      const ats = turns.filter((t) => t.runId.startsWith(tag + '-')).map((t) => t.at)
      return [Math.min(...ats), Math.max(...ats)] as const
    }
    const [a0, a1] = span('A')
    const [b0, b1] = span('B')
    expect(a0 < b1 && b0 < a1).toBe(true)
  }, 60_000)

  it('a lock left by a dead process is broken at once', async () => {
    const { store } = await fresh()
    await store.appendTurn('s', turn(1))
    const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)']).stdout.toString().trim()
    const lock = store.fileFor('s').replace(/\.session$/, '.lock')
    writeFileSync(
      lock,
      JSON.stringify({ pid: Number(dead), host: (await import('node:os')).hostname(), token: 'x', at: Date.now() }),
    )
    const t0 = Date.now()
    await store.appendTurn('s', turn(2))
    expect(Date.now() - t0).toBeLessThan(1000)
    expect((await store.readSession('s'))?.turns).toHaveLength(2)
  })

  it('a lock not refreshed for staleLockMs is broken; a live one makes a waiter give up with LOCKED', async () => {
    const { store, home, cipher } = await fresh()
    await store.appendTurn('s', turn(1))
    const lock = store.fileFor('s').replace(/\.session$/, '.lock')
    // a holder on another machine (shared home): only its age tells
    writeFileSync(lock, JSON.stringify({ pid: 1, host: 'elsewhere', token: 't', at: 0 }))
    const old = new Date(Date.now() - 60_000)
    utimesSync(lock, old, old)
    await store.appendTurn('s', turn(2))

    const impatient = new SessionStore(home, cipher, { lockTimeoutMs: 300, staleLockMs: 5000 })
    let waited: unknown
    await withFileLock(lock, async () => {
      await impatient.appendTurn('s', turn(3)).catch((e: unknown) => (waited = e))
    })
    expect(MiradorError.is(waited, 'LOCKED')).toBe(true)
    expect((waited as Error).message).toContain(`process ${process.pid}`)
    expect((waited as Error).message).toContain(lock)
    await impatient.appendTurn('s', turn(3)) // free again
    expect((await store.readSession('s'))?.turns).toHaveLength(3)
  })
})
