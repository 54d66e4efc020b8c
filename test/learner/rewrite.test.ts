import { afterAll, describe, expect, it } from '@jest/globals'
import {
  chmodSync,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import path from 'node:path'
import { loadConfigText } from '../../src/engine/config/index.js'
import { MiradorError } from '../../src/engine/errors.js'
import { backupDirFor, listBackups } from '../../src/plugins/learner/backups.js'
import { formatWeight, keySource, roundWeight, updateChainWeight } from '../../src/plugins/learner/rewrite.js'
import { copyFixture, fixtureText, scratch, tempFiles } from '../support/learner-files.js'

const s = scratch('mirador-rewrite-')
afterAll(() => s.cleanup())

/** Writes `text` as chains/<name> in a fresh scratch folder. */
function chain(text: string, name = 'c.yaml') {
  const { home, dir } = s.fresh()
  const file = path.join(dir, name)
  writeFileSync(file, text)
  return { home, dir, file }
}

const set = (v: number) => () => v

async function rejects(p: Promise<unknown>): Promise<MiradorError> {
  try {
    await p
  } catch (err) {
    expect(err).toBeInstanceOf(MiradorError)
    return err as MiradorError
  }
  throw new Error('expected a MiradorError')
}

describe('updateChainWeight: comment-preserving rewrite', () => {
  it('changes only the weight value among decoys (comments, strings, block scalars, another weights key)', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('decoys.yaml', dir)
    const r = await updateChainWeight(file, 'planning', (w) => (w ?? 0) + 0.05, { home })
    expect(r).toEqual({ before: 0.5, after: 0.55, changed: true })
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('decoys.expected.yaml'))
  })

  it('updates a quoted key in place and appends a new type to a block map at its indentation', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('decoys.yaml', dir)
    await updateChainWeight(file, 'coding', set(0.3), { home })
    await updateChainWeight(file, 'chat', set(0.9), { home })
    await updateChainWeight(file, 'summarise', set(0.123456), { home })
    const expected = fixtureText('decoys.yaml')
      .replace("'coding': 0.25", "'coding': 0.3")
      .replace('"chat": 1\n', '"chat": 0.9\n  summarise: 0.1235\n')
    expect(readFileSync(file, 'utf8')).toBe(expected)
  })

  it('keeps a flow-style map flow, adding new types inside the braces', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('flow.yaml', dir)
    expect(await updateChainWeight(file, 'chat', set(0.3), { home })).toEqual({
      before: 0.25,
      after: 0.3,
      changed: true,
    })
    expect(await updateChainWeight(file, 'planning', set(0.75), { home })).toEqual({
      before: undefined,
      after: 0.75,
      changed: true,
    })
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('flow.expected.yaml'))
  })

  it('fills an empty flow map', async () => {
    const { home, file } = chain('stages:\n  a: { model: m, prompt: p }\nweights: {}   # none yet\n')
    await updateChainWeight(file, 'chat', set(0.5), { home })
    expect(readFileSync(file, 'utf8')).toBe(
      'stages:\n  a: { model: m, prompt: p }\nweights: { chat: 0.5 }   # none yet\n',
    )
  })

  it('creates a block weights map at the end of a file that has none, indented like the file', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('no-weights.yaml', dir)
    expect(await updateChainWeight(file, 'planning', set(0.6), { home })).toEqual({
      before: undefined,
      after: 0.6,
      changed: true,
    })
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('no-weights.expected.yaml'))
  })

  it('creates the map on a new line when the file does not end with one, and before a ... end marker', async () => {
    const a = chain('stages:\n  a: { model: m, prompt: p }')
    await updateChainWeight(a.file, 'chat', set(0.5), { home: a.home })
    expect(readFileSync(a.file, 'utf8')).toBe('stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5')
    const b = chain('stages:\n  a: { model: m, prompt: p }\n...\n# after the end\n')
    await updateChainWeight(b.file, 'chat', set(0.5), { home: b.home })
    expect(readFileSync(b.file, 'utf8')).toBe(
      'stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5\n...\n# after the end\n',
    )
  })

  it('adds weights inside a document that is one flow map', async () => {
    const { home, file } = chain('{ name: flowdoc, stages: { a: { model: m, prompt: p } } }\n')
    await updateChainWeight(file, 'chat', set(0.5), { home })
    expect(readFileSync(file, 'utf8')).toBe(
      '{ name: flowdoc, stages: { a: { model: m, prompt: p } }, weights: { chat: 0.5 } }\n',
    )
  })

  it('keeps anchors and aliases elsewhere; a weight that was an alias becomes a number', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('anchors.yaml', dir)
    expect(await updateChainWeight(file, 'planning', set(0.45), { home })).toEqual({
      before: 0.5,
      after: 0.45,
      changed: true,
    })
    expect(await updateChainWeight(file, 'coding', set(0.7), { home })).toEqual({
      before: 0.6,
      after: 0.7,
      changed: true,
    })
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('anchors.expected.yaml'))
  })

  it('refuses to change a weight that is anchored and reused elsewhere, leaving the file untouched', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('shared-anchor.yaml', dir)
    const e = await rejects(updateChainWeight(file, 'planning', set(0.7), { home }))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain(file)
    expect(e.details?.skipped).toBe(true)
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('shared-anchor.yaml'))
    // another type can still be added
    await updateChainWeight(file, 'chat', set(0.1), { home })
    expect(readFileSync(file, 'utf8')).toBe(
      fixtureText('shared-anchor.yaml').replace('&w 0.5\n', '&w 0.5\n  chat: 0.1\n'),
    )
  })

  it('leaves a plugin stage key named weights alone (extraStageProperties)', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('extra-stage-key.yaml', dir)
    const extraStageProperties = { weights: { type: 'object' } }
    await updateChainWeight(file, 'planning', set(0.2), { home, extraStageProperties })
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('extra-stage-key.expected.yaml'))
    // without the plugin's key the file is not a valid chain: refused, untouched
    const e = await rejects(updateChainWeight(file, 'planning', set(0.3), { home }))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('extra-stage-key.expected.yaml'))
  })

  it('keeps CRLF line ends, also on added lines', async () => {
    const crlf = fixtureText('decoys.yaml').replace(/\n/g, '\r\n')
    const { home, file } = chain(crlf)
    await updateChainWeight(file, 'planning', set(0.55), { home })
    await updateChainWeight(file, 'creative', set(0.2), { home })
    const expected = fixtureText('decoys.expected.yaml')
      .replace('"chat": 1\n', '"chat": 1\n  creative: 0.2\n')
      .replace(/\n/g, '\r\n')
    expect(readFileSync(file, 'utf8')).toBe(expected)

    const fresh = chain(fixtureText('no-weights.yaml').replace(/\n/g, '\r\n'))
    await updateChainWeight(fresh.file, 'planning', set(0.6), { home: fresh.home })
    expect(readFileSync(fresh.file, 'utf8')).toBe(fixtureText('no-weights.expected.yaml').replace(/\n/g, '\r\n'))
  })

  it('keeps a UTF-8 byte order mark', async () => {
    const { home, file } = chain('\uFEFFstages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5\n')
    await updateChainWeight(file, 'chat', set(0.25), { home })
    const bytes = readFileSync(file)
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    expect(bytes.toString('utf8')).toBe('\uFEFFstages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.25\n')
  })

  it('quotes new keys YAML would read as something other than the string', async () => {
    expect(keySource('planning')).toBe('planning')
    expect(keySource('a.b-c_d')).toBe('a.b-c_d')
    for (const k of ['123', '1e3', '0x1F', 'true', 'null', 'NULL', '1.5', '0o7'])
      expect(keySource(k)).toBe(JSON.stringify(k))
    const { home, file } = chain('stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5\n')
    await updateChainWeight(file, '2024', set(0.1), { home })
    await updateChainWeight(file, 'true', set(0.2), { home })
    expect(readFileSync(file, 'utf8')).toBe(
      'stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5\n  "2024": 0.1\n  "true": 0.2\n',
    )
    // and finds them again
    expect(await updateChainWeight(file, '2024', (w) => (w ?? 0) + 0.1, { home })).toEqual({
      before: 0.1,
      after: 0.2,
      changed: true,
    })
  })

  it('rounds to 4 decimals and writes nothing when the rounded value is unchanged', async () => {
    expect(roundWeight(0.123456)).toBe(0.1235)
    expect(formatWeight(1)).toBe('1')
    expect(formatWeight(0)).toBe('0')
    expect(formatWeight(0.00001)).toBe('0')
    const { home, file } = chain('stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.50   # as written\n')
    const before = statSync(file)
    expect(await updateChainWeight(file, 'chat', set(0.50001), { home })).toEqual({
      before: 0.5,
      after: 0.5,
      changed: false,
    })
    expect(readFileSync(file, 'utf8')).toBe(
      'stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.50   # as written\n',
    )
    expect(statSync(file).ino).toBe(before.ino)
    expect(await listBackups(file, home)).toEqual([])
  })

  it('applies the update to what is on disk now: hand edits made since are kept', async () => {
    const { home, file } = chain('stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5\n')
    await updateChainWeight(file, 'chat', (w) => (w ?? 0) + 0.1, { home })
    // the user edits the file by hand
    writeFileSync(file, '# mine\nstages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.2\n  coding: 0.9\n')
    expect(await updateChainWeight(file, 'chat', (w) => (w ?? 0) + 0.1, { home })).toEqual({
      before: 0.2,
      after: 0.3,
      changed: true,
    })
    expect(readFileSync(file, 'utf8')).toBe(
      '# mine\nstages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.3\n  coding: 0.9\n',
    )
  })

  it('serialises concurrent updates in one process (no lost update)', async () => {
    const { home, file } = chain('stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.1\n')
    await Promise.all(
      Array.from({ length: 40 }, () => updateChainWeight(file, 'chat', (w) => (w ?? 0) + 0.01, { home })),
    )
    const v = loadConfigText<{ weights: Record<string, number> }>(readFileSync(file, 'utf8'), file, 'chain').value
    expect(v.weights.chat).toBeCloseTo(0.5, 10)
  })

  it('keeps the file mode, follows symlinks, and leaves no temp files', async () => {
    const { home, dir, file } = chain('stages:\n  a: { model: m, prompt: p }\n')
    chmodSync(file, 0o640)
    const link = path.join(dir, 'link.yaml')
    symlinkSync(file, link)
    await updateChainWeight(link, 'chat', set(0.5), { home })
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(statSync(file).mode & 0o7777).toBe(0o640)
    expect(readFileSync(file, 'utf8')).toBe('stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5\n')
    // the link and the real path share one lock and one history
    await updateChainWeight(file, 'chat', set(0.6), { home })
    expect((await listBackups(link, home)).length).toBe(2)
    expect(tempFiles(dir)).toEqual([])
    expect(existsSync(path.join(home, 'learner', 'locks'))).toBe(true)
    expect(readdirSync(path.join(home, 'learner', 'locks'))).toEqual([])
  })
})

describe('updateChainWeight: refusals leave the file untouched', () => {
  const text = 'stages:\n  a: { model: m, prompt: p }\nweights:\n  chat: 0.5\n'

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['below 0', -0.0001],
    ['above 1', 1.5],
    // what an update function in plain JavaScript could return (JSON.parse gives `any`)
    ['a string', JSON.parse('"0.5"')],
    ['undefined', JSON.parse('{}').weight],
  ])('refuses an update returning %s', async (_label, value) => {
    const { home, file } = chain(text)
    const e = await rejects(updateChainWeight(file, 'chat', () => value, { home }))
    expect(e.code).toBe('USAGE')
    expect(e.message).toContain(file)
    expect(readFileSync(file, 'utf8')).toBe(text)
    expect(existsSync(backupDirFor(realpathSync(file), home))).toBe(false)
  })

  it('propagates an error thrown by the update function, writing nothing', async () => {
    const { home, file } = chain(text)
    await expect(
      updateChainWeight(
        file,
        'chat',
        () => {
          throw new Error('journal unreadable')
        },
        { home },
      ),
    ).rejects.toThrow('journal unreadable')
    expect(readFileSync(file, 'utf8')).toBe(text)
    // and the lock was released
    await updateChainWeight(file, 'chat', set(0.6), { home })
  })

  it.each(['', 'Has Space', '-dash', '_under', 'constructor', '__proto__', 'x'.repeat(65), 'a:b'])(
    'refuses the type name %j',
    async (type) => {
      const { home, file } = chain(text)
      const e = await rejects(updateChainWeight(file, type, set(0.4), { home }))
      expect(e.code).toBe('USAGE')
      expect(readFileSync(file, 'utf8')).toBe(text)
    },
  )

  it('reports an invalid chain file (schema) and skips it', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('invalid.yaml', dir)
    const e = await rejects(updateChainWeight(file, 'planning', set(0.5), { home }))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.details).toMatchObject({ skipped: true, reason: 'CONFIG_INVALID' })
    expect(e.format()).toContain(`${file}:3:`)
    expect(e.message).toMatch(/left unchanged/)
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('invalid.yaml'))
    expect(existsSync(backupDirFor(realpathSync(file), home))).toBe(false)
  })

  it('reports a chain file that does not parse and skips it', async () => {
    const { home, dir } = s.fresh()
    const file = copyFixture('syntax.yaml', dir)
    const e = await rejects(updateChainWeight(file, 'planning', set(0.5), { home }))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.details).toMatchObject({ skipped: true, reason: 'CONFIG_SYNTAX' })
    expect(e.format()).toContain(file)
    expect(readFileSync(file, 'utf8')).toBe(fixtureText('syntax.yaml'))
  })

  it('reports a file that is not UTF-8', async () => {
    const { home, file } = chain('')
    writeFileSync(file, Buffer.from([0x73, 0x74, 0xff, 0x0a]))
    const e = await rejects(updateChainWeight(file, 'planning', set(0.5), { home }))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.details?.reason).toBe('CONFIG_SYNTAX')
    expect([...readFileSync(file)]).toEqual([0x73, 0x74, 0xff, 0x0a])
  })

  it('reports a read-only chain file and skips it (even when running as root)', async () => {
    const { home, file } = chain(text)
    chmodSync(file, 0o444)
    const e = await rejects(updateChainWeight(file, 'chat', set(0.9), { home }))
    expect(e.code).toBe('USAGE')
    expect(e.message).toContain(file)
    expect(e.message).toMatch(/read-only/)
    expect(e.details).toMatchObject({ skipped: true, reason: 'read-only' })
    expect(readFileSync(file, 'utf8')).toBe(text)
    expect(statSync(file).mode & 0o777).toBe(0o444)
  })

  it('reports a missing file', async () => {
    const { home, dir } = s.fresh()
    const e = await rejects(updateChainWeight(path.join(dir, 'gone.yaml'), 'chat', set(0.9), { home }))
    expect(e.code).toBe('CONFIG_NOT_FOUND')
    expect(readdirSync(dir)).toEqual([])
  })

  it('refuses to add a type past the schema limit of 200, untouched', async () => {
    const many = Array.from({ length: 200 }, (_, i) => `  t${i}: 0.5`).join('\n')
    const big = `stages:\n  a: { model: m, prompt: p }\nweights:\n${many}\n`
    const { home, file } = chain(big)
    const e = await rejects(updateChainWeight(file, 'one-more', set(0.5), { home }))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.details?.reason).toBe('rewrite-invalid')
    expect(readFileSync(file, 'utf8')).toBe(big)
    // an existing one can still be updated
    await updateChainWeight(file, 't7', set(0.25), { home })
    expect(readFileSync(file, 'utf8')).toBe(big.replace('  t7: 0.5\n', '  t7: 0.25\n'))
  })
})
