import { afterAll, describe, expect, it } from '@jest/globals'
import { chmodSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import {
  backupDirFor,
  listBackups,
  MAX_BACKUPS,
  pathKey,
  rollback,
  saveBackup,
} from '../../src/plugins/learner/backups.js'
import { lineDiff, unifiedDiff, weightChanges, weightDiff } from '../../src/plugins/learner/diff.js'
import { updateChainWeight } from '../../src/plugins/learner/rewrite.js'
import { copyFixture, fixtureText, scratch } from '../support/learner-files.js'

const s = scratch('mirador-rewrite-backups-')
afterAll(() => s.cleanup())

const set = (v: number) => () => v
const BASE = 'stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5\n'

function chain(text: string) {
  const { home, dir } = s.fresh()
  const file = path.join(dir, 'c.yaml')
  writeFileSync(file, text)
  return { home, dir, file, real: realpathSync(file) }
}

describe('backups', () => {
  it('saves the previous bytes before each rewrite, with an index naming the file', async () => {
    const { home, file, real } = chain(BASE)
    await updateChainWeight(file, 'chat', set(0.6), { home })
    await updateChainWeight(file, 'chat', set(0.7), { home })
    const list = await listBackups(file, home)
    expect(list.map((b) => readFileSync(b.file, 'utf8'))).toEqual([BASE, BASE.replace('0.5', '0.6')])
    expect(list[0]!.at).toBeLessThan(list[1]!.at)
    const dir = backupDirFor(real, home)
    expect(path.basename(dir)).toBe(pathKey(real))
    expect(dir.startsWith(path.join(home, 'learner', 'backups'))).toBe(true)
    expect(JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8'))).toEqual({ version: 1, path: real })
    for (const b of list) expect(path.basename(b.file)).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.yaml$/)
    expect(statSync(list[0]!.file).mode & 0o777).toBe(0o600)
  })

  it(`keeps the newest ${MAX_BACKUPS} per file, names strictly increasing`, async () => {
    const { home, real } = chain(BASE)
    for (let i = 0; i < MAX_BACKUPS + 5; i++) await saveBackup(real, Buffer.from(`v${i}\n`), home)
    const list = await listBackups(real, home)
    expect(list).toHaveLength(MAX_BACKUPS)
    expect(readFileSync(list[0]!.file, 'utf8')).toBe('v5\n')
    expect(readFileSync(list.at(-1)!.file, 'utf8')).toBe(`v${MAX_BACKUPS + 4}\n`)
    for (let i = 1; i < list.length; i++) expect(list[i]!.at).toBeGreaterThan(list[i - 1]!.at)
  })
})

describe('rollback', () => {
  it('restores the previous text exactly, keeping the mode; repeated rollbacks walk back', async () => {
    const { dir } = s.fresh()
    const home = path.join(dir, '..', 'home')
    const file = copyFixture('decoys.yaml', dir)
    const crlf = fixtureText('decoys.yaml').replace(/\n/g, '\r\n')
    writeFileSync(file, crlf)
    chmodSync(file, 0o664)
    await updateChainWeight(file, 'planning', set(0.6), { home })
    const after1 = readFileSync(file, 'utf8')
    await updateChainWeight(file, 'chat', set(0.2), { home })
    const after2 = readFileSync(file, 'utf8')

    const r1 = await rollback(file, home)
    expect(r1?.restored).toMatch(/\.yaml$/)
    expect(readFileSync(file, 'utf8')).toBe(after1)
    expect(statSync(file).mode & 0o777).toBe(0o664)
    // the text it replaced is kept, so a mistaken rollback can be undone by hand
    expect(readFileSync(path.join(backupDirFor(realpathSync(file), home), 'rolled-back.yaml'), 'utf8')).toBe(after2)

    await rollback(file, home)
    expect(readFileSync(file, 'utf8')).toBe(crlf)
    expect(await rollback(file, home)).toBeUndefined()
    expect(readFileSync(file, 'utf8')).toBe(crlf)
  })

  it('says which rating the undone rewrite applied; the note goes with its backup', async () => {
    const { home, file, real } = chain(BASE)
    await updateChainWeight(file, 'chat', set(0.6), { home, rating: { runId: 'r_a', ratingAt: 11 } })
    await updateChainWeight(file, 'chat', set(0.7), { home }) // a rewrite with no rating (a test, a tool)
    await updateChainWeight(file, 'chat', set(0.8), { home, rating: { runId: 'r_b', ratingAt: 22 } })
    const r1 = await rollback(file, home)
    expect(r1?.rating).toEqual({ runId: 'r_b', ratingAt: 22 })
    expect((await rollback(file, home))?.rating).toBeUndefined()
    expect((await rollback(file, home))?.rating).toEqual({ runId: 'r_a', ratingAt: 11 })
    expect(readFileSync(file, 'utf8')).toBe(BASE)
    // the notes went with their backups
    expect(readdirSync(backupDirFor(real, home)).filter((n) => n.endsWith('.yaml.json'))).toEqual([])
  })

  it('prunes a rating note with its backup', async () => {
    const { home, real } = chain(BASE)
    for (let i = 0; i < MAX_BACKUPS + 3; i++)
      await saveBackup(real, Buffer.from(`v${i}\n`), home, { runId: `r${i}`, ratingAt: i })
    expect(readdirSync(backupDirFor(real, home)).filter((n) => n.endsWith('.yaml.json'))).toHaveLength(MAX_BACKUPS)
  })

  it('returns undefined for a file never rewritten', async () => {
    const { home, file } = chain(BASE)
    expect(await rollback(file, home)).toBeUndefined()
    expect(readFileSync(file, 'utf8')).toBe(BASE)
  })

  it('skips a backup equal to the current text (a crash between backup and rename)', async () => {
    const { home, file, real } = chain(BASE)
    await updateChainWeight(file, 'chat', set(0.6), { home })
    const now = readFileSync(file)
    await saveBackup(real, now, home) // as if the next rewrite died after saving its backup
    await rollback(file, home)
    expect(readFileSync(file, 'utf8')).toBe(BASE)
    expect(await listBackups(file, home)).toEqual([])
  })

  it('refuses a read-only file', async () => {
    const { home, file } = chain(BASE)
    await updateChainWeight(file, 'chat', set(0.6), { home })
    chmodSync(file, 0o444)
    const err = await rollback(file, home).catch((e: unknown) => e)
    expect(MiradorError.is(err, 'USAGE')).toBe(true)
    expect(readFileSync(file, 'utf8')).toBe(BASE.replace('0.5', '0.6'))
  })

  it('restores a file that was deleted since', async () => {
    const { home, file, real } = chain(BASE)
    await updateChainWeight(file, 'chat', set(0.6), { home })
    const { rmSync } = await import('node:fs')
    rmSync(file)
    await rollback(real, home)
    expect(readFileSync(real, 'utf8')).toBe(BASE)
  })
})

describe('weightDiff', () => {
  it('shows the change since the latest backup as a unified diff and as weight changes', async () => {
    const { dir } = s.fresh()
    const home = path.join(dir, '..', 'home')
    const file = copyFixture('decoys.yaml', dir)
    expect(await weightDiff(file, home)).toBeUndefined()
    await updateChainWeight(file, 'planning', set(0.55), { home })
    const d = await weightDiff(file, home)
    expect(d).toBeDefined()
    expect(d!.changes).toEqual([{ type: 'planning', before: 0.5, after: 0.55 }])
    const real = realpathSync(file)
    expect(d!.file).toBe(real)
    expect(d!.text).toBe(
      [
        `--- ${real} (backup ${new Date(d!.at).toISOString()})`,
        `+++ ${real}`,
        '@@ -28,7 +28,7 @@',
        ' # the learned weights, below; keep them last',
        ' weights:',
        '   # planning questions do well here',
        '-  planning:   0.5    # seeded by hand',
        '+  planning:   0.55    # seeded by hand',
        "   'coding': 0.25",
        '   "chat": 1',
        ' # end of file',
        '',
      ].join('\n'),
    )
  })

  it('lists added types, and hand edits made since the backup', async () => {
    const { home, file } = chain(BASE)
    await updateChainWeight(file, 'coding', set(0.3), { home })
    writeFileSync(file, readFileSync(file, 'utf8').replace('chat: 0.5', 'chat: 0.9'))
    const d = await weightDiff(file, home)
    expect(d!.changes).toEqual([
      { type: 'chat', before: 0.5, after: 0.9 },
      { type: 'coding', before: undefined, after: 0.3 },
    ])
    // diff shows what rollback would undo
    await rollback(file, home)
    expect(readFileSync(file, 'utf8')).toBe(BASE)
  })
})

describe('line diff', () => {
  it('is minimal (LCS) and prints hunks with 3 lines of context', () => {
    const a = ['a\n', 'b\n', 'c\n', 'd\n']
    const b = ['a\n', 'x\n', 'c\n', 'd\n', 'e\n']
    const ops = lineDiff(a, b).map((o) => o.kind + o.line.trim())
    expect(ops).toEqual([' a', '-b', '+x', ' c', ' d', '+e'])
    const before = Array.from({ length: 20 }, (_, i) => `l${i}\n`).join('')
    const after = before.replace('l2\n', 'L2\n').replace('l17\n', 'L17\n')
    expect(unifiedDiff(before, after, 'old', 'new')).toBe(
      [
        '--- old',
        '+++ new',
        '@@ -1,6 +1,6 @@',
        ' l0',
        ' l1',
        '-l2',
        '+L2',
        ' l3',
        ' l4',
        ' l5',
        '@@ -15,6 +15,6 @@',
        ' l14',
        ' l15',
        ' l16',
        '-l17',
        '+L17',
        ' l18',
        ' l19',
        '',
      ].join('\n'),
    )
    expect(unifiedDiff('same\n', 'same\n')).toBe('')
  })

  it('handles empty texts, missing final line ends and CRLF', () => {
    expect(unifiedDiff('', 'a\n', 'x', 'y')).toBe('--- x\n+++ y\n@@ -0,0 +1,1 @@\n+a\n')
    expect(unifiedDiff('a\nb', 'a\nc', 'x', 'y')).toBe(
      '--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n',
    )
    expect(unifiedDiff('a\r\nb\r\n', 'a\r\nc\r\n', 'x', 'y')).toBe('--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n')
  })

  it('diffs a large rewrite without quadratic memory', () => {
    const a = Array.from({ length: 5000 }, (_, i) => `a${i}\n`).join('')
    const b = Array.from({ length: 5000 }, (_, i) => `b${i}\n`).join('')
    const out = unifiedDiff(a, b)
    expect(out.split('\n').filter((l) => l.startsWith('-a')).length).toBe(5000)
    expect(out.split('\n').filter((l) => l.startsWith('+b')).length).toBe(5000)
  })

  it('reads weights leniently for the structured list', () => {
    expect(weightChanges('weights: {a: 0.5, b: 0.2}\n', 'weights: {a: 0.6}\n')).toEqual([
      { type: 'a', before: 0.5, after: 0.6 },
      { type: 'b', before: 0.2, after: undefined },
    ])
    expect(weightChanges('not: [valid', 'weights: {a: 1}\n')).toEqual([{ type: 'a', before: undefined, after: 1 }])
    expect(readdirSync(s.root).length).toBeGreaterThan(0)
  })
})
