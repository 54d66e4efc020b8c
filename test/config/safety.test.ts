/**
 * Safety limits that need generated input (too big to check in) and the edges of each limit.
 */
import { execFileSync } from 'node:child_process'
import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { ALLOWED_TAGS, LIMITS, loadConfigFile, loadConfigText } from '../../src/engine/config/index.js'
import { MiradorError } from '../../src/engine/errors.js'

const tmp = mkdtempSync(join(tmpdir(), 'mirador-config-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function thrown(fn: () => unknown): MiradorError {
  try {
    fn()
  } catch (e) {
    if (e instanceof MiradorError) return e
    throw new Error(`expected a MiradorError, got ${String(e)}`, { cause: e })
  }
  throw new Error('expected an error, got none')
}

async function rejected(p: Promise<unknown>): Promise<MiradorError> {
  try {
    await p
  } catch (e) {
    if (e instanceof MiradorError) return e
    throw new Error(`expected a MiradorError, got ${String(e)}`, { cause: e })
  }
  throw new Error('expected an error, got none')
}

describe('limits', () => {
  it('are frozen and sensible', () => {
    expect(Object.isFrozen(LIMITS)).toBe(true)
    expect(LIMITS).toMatchObject({ maxBytes: 256 * 1024, maxDepth: 32, maxAliases: 20 })
  })
})

describe('size', () => {
  it('refuses a file over the limit from stat, before reading it (a sparse 1 GiB file answers at once)', async () => {
    const file = join(tmp, 'huge.yaml')
    const fd = openSync(file, 'w')
    ftruncateSync(fd, 1024 ** 3)
    closeSync(fd)
    const t0 = performance.now()
    const e = await rejected(loadConfigFile(file, 'config'))
    expect(performance.now() - t0).toBeLessThan(500)
    expect(e.code).toBe('CONFIG_TOO_LARGE')
    expect(e.message).toContain(`over the ${LIMITS.maxBytes}-byte limit`)
    expect(e.details).toMatchObject({ bytes: 1024 ** 3, limit: LIMITS.maxBytes })
  })

  it('accepts a file just under the limit and refuses one just over it', async () => {
    const head = '# '
    const body = 'stages: { a: { model: m, prompt: p } }\n'
    const under = join(tmp, 'under.yaml')
    writeFileSync(under, `${head}${'x'.repeat(LIMITS.maxBytes - head.length - body.length - 1)}\n${body}`)
    await expect(loadConfigFile(under, 'chain')).resolves.toBeDefined()
    const over = join(tmp, 'over.yaml')
    writeFileSync(over, `${head}${'x'.repeat(LIMITS.maxBytes)}\n`)
    expect((await rejected(loadConfigFile(over, 'chain'))).code).toBe('CONFIG_TOO_LARGE')
  })

  it('applies to text too', () => {
    expect(thrown(() => loadConfigText(`a: ${'x'.repeat(LIMITS.maxBytes)}`, 'big.yaml', 'config')).code).toBe(
      'CONFIG_TOO_LARGE',
    )
  })

  it('refuses what is not a regular file', async () => {
    const e = await rejected(loadConfigFile('/dev/zero', 'config'))
    expect(e.code).toBe('CONFIG_NOT_FOUND')
    expect(e.message).toContain('not a regular file')
    const dir = join(tmp, 'a-dir.yaml')
    mkdirSync(dir)
    expect((await rejected(loadConfigFile(dir, 'config'))).message).toContain('is a folder')
  })

  it('refuses a FIFO without waiting for a writer (tools/*.yaml may be one)', async () => {
    const fifo = join(tmp, 'piped.yaml')
    execFileSync('mkfifo', [fifo])
    const e = await rejected(loadConfigFile(fifo, 'tool'))
    expect(e.code).toBe('CONFIG_NOT_FOUND')
    expect(e.message).toBe(`${fifo} is not a regular file. Point Mirador at a YAML file.`)
  })

  it('names a missing file', async () => {
    const e = await rejected(loadConfigFile('chains/does-not-exist.yaml', 'chain'))
    expect(e.code).toBe('CONFIG_NOT_FOUND')
    expect(e.message).toBe('chains/does-not-exist.yaml does not exist. Check the path.')
  })
})

describe('nesting bombs do not blow the stack', () => {
  const bombs: Record<string, string> = {
    'flow sequences': `a: ${'['.repeat(100_000)}`,
    'flow maps': '{'.repeat(100_000),
    'closed flow sequences': `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
    'block sequences on one line': `${'- '.repeat(100_000)}x`,
    'flow maps with keys': `${'{a: '.repeat(50_000)}1${'}'.repeat(50_000)}`,
  }
  it.each(Object.entries(bombs))('%s', (_, text) => {
    const t0 = performance.now()
    const e = thrown(() => loadConfigText(text, 'bomb.yaml', 'config'))
    expect(e.code).toBe('CONFIG_UNSAFE')
    expect(e.message).toContain(`deeper than ${LIMITS.maxDepth} levels`)
    expect(e.location?.line).toBe(1)
    expect(performance.now() - t0).toBeLessThan(5000)
  })

  it('accepts exactly maxDepth levels and refuses one more', () => {
    // the top-level map is level 1; plugins (2), the item map (3), options (4), then lists
    const nest = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`
    const doc = (lists: number) => `plugins: [{ name: x, options: { a: ${nest(lists)} } }]\n`
    expect(loadConfigText(doc(LIMITS.maxDepth - 4), 'ok.yaml', 'config').value).toBeDefined()
    expect(thrown(() => loadConfigText(doc(LIMITS.maxDepth - 3), 'deep.yaml', 'config')).code).toBe('CONFIG_UNSAFE')
  })
})

describe('aliases', () => {
  const doc = (n: number) =>
    `plugins:\n  - name: x\n    options:\n      v: &v 1\n      l: [${Array(n).fill('*v').join(', ')}]\n`
  it('accepts up to maxAliases and refuses more', () => {
    const v = loadConfigText<{ plugins: Array<{ options: { l: number[] } }> }>(
      doc(LIMITS.maxAliases),
      'ok.yaml',
      'config',
    ).value
    expect(v.plugins[0]!.options.l).toHaveLength(LIMITS.maxAliases)
    expect(thrown(() => loadConfigText(doc(LIMITS.maxAliases + 1), 'many.yaml', 'config')).message).toContain(
      'more than 20 aliases',
    )
  })

  it('lets an anchor share stage options', () => {
    const text =
      'stages:\n  a: { model: m, prompt: p, options: &o { temperature: 0.2 } }\n' +
      '  b: { model: m, prompt: p, options: *o }\n'
    const v = loadConfigText<{ stages: Record<string, { options: unknown }> }>(text, 'c.yaml', 'chain').value
    expect(v.stages.b!.options).toEqual({ temperature: 0.2 })
  })
})

describe('tags and directives', () => {
  it('allows exactly the core tags', () => {
    expect([...ALLOWED_TAGS].sort()).toEqual(['!!bool', '!!float', '!!int', '!!map', '!!null', '!!seq', '!!str'])
  })

  it('accepts the core tags where the schema wants their type', () => {
    const chain = loadConfigText<{ stages: { a: object } }>(
      'stages: !!map\n  a:\n    model: !!str 3\n    prompt: p\n' +
        '    confidence: !!float 0.5\n    timeout_ms: !!int 1000\n    after: !!seq []\n',
      'c.yaml',
      'chain',
    ).value
    expect(chain.stages.a).toEqual({ model: '3', prompt: 'p', confidence: 0.5, timeout_ms: 1000, after: [] })
    expect(loadConfigText('offline: !!bool true\n', 'c.yaml', 'config').value).toEqual({ offline: true })
    // !!null passes the YAML checks; the schema then says what it thinks of an empty value
    const e = thrown(() => loadConfigText('profile: !!null\n', 'c.yaml', 'config'))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain('profile: is empty; expected text')
  })

  it('accepts %YAML 1.2 and a byte-order mark', () => {
    expect(loadConfigText('%YAML 1.2\n---\noffline: true\n', 'c.yaml', 'config').value).toEqual({ offline: true })
    expect(loadConfigText('\uFEFFoffline: true\n', 'c.yaml', 'config').value).toEqual({ offline: true })
  })

  it('throws the first refused tag, with its position', () => {
    const e = thrown(() =>
      loadConfigText('offline: !!bool true\nmemory: !foo on\nprofile: !!binary aGk=\n', 'c.yaml', 'config'),
    )
    expect(e.location).toEqual({ file: 'c.yaml', line: 2, column: 9 })
    expect(e.details).toEqual({ tag: '!foo' })
  })
})

describe('YAML 1.2 core schema', () => {
  it('reads on/off as text where text is wanted (memory: on)', () => {
    expect(loadConfigText('memory: on\n', 'c.yaml', 'config').value).toEqual({ memory: 'on' })
    expect(loadConfigText('memory: false\n', 'c.yaml', 'config').value).toEqual({ memory: false })
  })

  it('does not read 0o/0x numbers as anything but numbers, nor dates or base-60', () => {
    const v = loadConfigText<{ stages: { a: { options: { seed: number }; system: string } } }>(
      'stages:\n  a: { model: m, prompt: p, system: 2024-01-01, options: { seed: 0x1F } }\n',
      'c.yaml',
      'chain',
    ).value
    expect(v.stages.a.options.seed).toBe(31)
    expect(v.stages.a.system).toBe('2024-01-01')
  })

  it('does not pollute Object.prototype through __proto__ anywhere', () => {
    for (const text of [
      '__proto__: { polluted: 1 }\n',
      'plugins: [{ name: x, options: { __proto__: { polluted: 1 } } }]\n',
      'plugins: [{ name: x, options: { "__proto__": { polluted: 1 } } }]\n',
    ]) {
      expect(thrown(() => loadConfigText(text, 'p.yaml', 'config')).code).toBe('CONFIG_UNSAFE')
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('rejects constructor as a free-form key (plugin options)', () => {
    const e = thrown(() => loadConfigText('plugins: [{ name: x, options: { constructor: 1 } }]\n', 'p.yaml', 'config'))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain('plugins[0].options: the name "constructor" is reserved')
  })
})
