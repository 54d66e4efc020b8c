/**
 * The static analyzer on real files: every hostile fixture (test/fixtures/static-analysis/hostile)
 * gives exactly the findings written at its end, with line, column and permission; ordinary code,
 * the shipped tools and the example plugin give none; the bounds hold on real large files, a
 * real FIFO and a symbolic link; and findings compare with declared permissions.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  analyzePaths,
  analyzeSource,
  compareWithPermissions,
  DEFAULT_MAX_FILE_BYTES,
  type Finding,
} from '../../src/lib/static-analysis/index.js'
import { ROOT } from '../support/cli.js'

const FIXTURES = path.join(ROOT, 'test/fixtures/static-analysis')
const HOSTILE = readdirSync(path.join(FIXTURES, 'hostile')).sort()

/** `// expect: RULE LINE:COLUMN [PERMISSION-JSON]` lines at the end of a fixture */
function expected(file: string) {
  return [...readFileSync(file, 'utf8').matchAll(/^\/\/ expect: (\S+) (\d+):(\d+)(?: (\{.*\}))?$/gm)].map((m) => ({
    rule: m[1],
    line: Number(m[2]),
    column: Number(m[3]),
    ...(m[4] ? { permission: JSON.parse(m[4]) as unknown } : {}),
  }))
}

const brief = (fs: Finding[]) =>
  fs.map((f) => ({
    rule: f.rule,
    line: f.line,
    column: f.column,
    ...(f.permission ? { permission: f.permission } : {}),
  }))

let tmp: string
beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-analysis-'))
})
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('hostile code: each finding, where it is', () => {
  it('the corpus covers every rule about code', () => {
    const rules = new Set(HOSTILE.flatMap((f) => expected(path.join(FIXTURES, 'hostile', f)).map((e) => e.rule)))
    expect([...rules].sort()).toEqual(
      [
        'char-codes',
        'child-process',
        'computed-import',
        'encoded-string',
        'env',
        'escaped-string',
        'eval',
        'fs-read',
        'fs-write',
        'high-entropy-string',
        'network',
        'new-function',
        'obfuscated-names',
        'parse-error',
        'process-binding',
        'tamper',
        'unsafe-module',
      ].sort(),
    )
  })

  it.each(HOSTILE)('%s', async (name) => {
    const file = path.join(FIXTURES, 'hostile', name)
    const want = expected(file)
    expect(want.length).toBeGreaterThan(0)
    const { findings, files } = await analyzePaths([file])
    expect(files).toBe(1)
    expect(brief(findings)).toEqual(want)
    for (const f of findings) expect(f.file).toBe(file)
  })

  it('messages say what was found: the module, the path, the variable, the host', async () => {
    const { findings } = await analyzePaths([path.join(FIXTURES, 'hostile')])
    const messages = findings.map((f) => `${path.basename(f.file)}:${f.line} ${f.message}`)
    expect(messages).toEqual(
      expect.arrayContaining([
        'spawn-require.cjs:5 process.mainModule.require() of child_process: starts other programs',
        'key-theft.mjs:5 fs readFileSync reads /home/user/.mirador/keys/memory.key',
        'key-theft.mjs:13 fs truncateSync writes a path computed at run time',
        'env-theft.mjs:7 reads the whole environment (process.env)',
        'beacon.mjs:3 new WebSocket(): network access to c2.evil.example:8443',
        'tamper.mjs:6 Object.defineProperty replaces globalThis.fetch, a built-in shared with Mirador and every plugin',
        'tamper.mjs:9 assigns to (…).__proto__.isAdmin: prototype pollution (a prototype every object shares)',
        'does-not-parse.js:3 does not parse: Unexpected token',
        'computed-import.mjs:6 r() (a require) of a name computed at run time: what it loads cannot be checked',
      ]),
    )
  })
})

describe('ordinary code: no finding', () => {
  it('look-alikes (methods named fetch or writeFile, a class prototype, a hash, CommonJS return)', async () => {
    const { findings, files } = await analyzePaths([path.join(FIXTURES, 'benign')])
    expect(files).toBe(2)
    expect(findings).toEqual([])
  })

  it('the shipped tools, as tools, and the example plugin, as a plugin', async () => {
    const tools = await analyzePaths([path.join(ROOT, 'tools')], { profile: 'tool' })
    expect(tools.files).toBe(3)
    expect(tools.findings).toEqual([])
    const plugin = await analyzePaths([path.join(ROOT, 'examples')])
    expect(plugin.files).toBeGreaterThanOrEqual(1)
    expect(plugin.findings).toEqual([])
  })
})

describe('profiles', () => {
  it('a tool may not import anything: every import form is an error', async () => {
    const { findings } = await analyzePaths([path.join(FIXTURES, 'benign')], { profile: 'tool' })
    expect(findings.map((f) => `${path.basename(f.file)}:${f.line}:${f.column} ${f.rule} ${f.severity}`)).toEqual([
      'common.cjs:2:14 import error',
      'common.cjs:3:15 import error',
      'common.cjs:5:6 node-global error',
      'common.cjs:7:1 node-global error',
      'common.cjs:10:1 node-global error',
      'everyday.mjs:2:1 import error',
      'everyday.mjs:3:1 import error',
      'everyday.mjs:4:1 import error',
      'everyday.mjs:5:1 import error',
    ])
    expect(findings[0]!.message).toBe('require() of path: a tool runs in a sandbox that has no modules')
  })

  it("a tool may not use Node's globals either, unless it declares the name itself", () => {
    const text = [
      'export default function (args, host) {',
      '  setTimeout(() => {}, 1)',
      '  const env = process.env.HOME',
      '  return Buffer.from(String(process.pid))',
      '}',
      'function own(module) { return module.id }',
    ].join('\n')
    expect(analyzeSource('t.mjs', text, { profile: 'tool' }).map((f) => `${f.line}:${f.column} ${f.rule}`)).toEqual([
      '2:3 node-global',
      '3:15 env',
      '4:10 node-global',
      '4:29 node-global',
    ])
    expect(analyzeSource('t.mjs', text, { profile: 'plugin' }).map((f) => f.rule)).toEqual(['env'])
  })

  it('for a tool, Node and the network are errors; eval, tampering and obfuscation warnings', async () => {
    const hostile = (n: string) => analyzePaths([path.join(FIXTURES, 'hostile', n)], { profile: 'tool' })
    const severities = async (n: string) => [...new Set((await hostile(n)).findings.map((f) => f.severity))]
    expect(await severities('spawn-import.mjs')).toEqual(['error'])
    expect(await severities('beacon.mjs')).toEqual(['error'])
    expect(await severities('env-theft.mjs')).toEqual(['error'])
    expect(await severities('eval.mjs')).toEqual(['warning'])
    expect(await severities('tamper.mjs')).toEqual(['warning'])
    expect(await severities('obfuscated.js')).toEqual(['warning'])
    // for a plugin, tampering with what Mirador shares is an error
    const plugin = await analyzePaths([path.join(FIXTURES, 'hostile', 'tamper.mjs')])
    expect(new Set(plugin.findings.map((f) => f.severity))).toEqual(new Set(['error']))
  })
})

describe('bounds', () => {
  it('a file over 5 MB is skipped with a finding; at the bound it is analyzed', async () => {
    const big = path.join(tmp, 'big.js')
    const line = 'const x = 1 // padding\n'
    writeFileSync(big, line.repeat(Math.floor(DEFAULT_MAX_FILE_BYTES / line.length) + 1))
    const over = await analyzePaths([big])
    expect(over.files).toBe(0)
    expect(over.findings).toEqual([
      expect.objectContaining({
        rule: 'skipped-file',
        severity: 'warning',
        line: 1,
        column: 1,
        message: expect.stringMatching(/^not analyzed: \d+ bytes, over the 5242880 analyzed per file$/),
      }),
    ])
    writeFileSync(big, `eval(x)\n${' '.repeat(DEFAULT_MAX_FILE_BYTES - 8)}`)
    const at = await analyzePaths([big])
    expect(brief(at.findings)).toEqual([{ rule: 'eval', line: 1, column: 1 }])
  })

  it('findings are capped per file, and the rest counted', () => {
    const text = Array.from({ length: 150 }, (_, i) => `eval(s${i})`).join('\n')
    const findings = analyzeSource('many.js', text)
    expect(findings).toHaveLength(101)
    expect(findings[99]).toMatchObject({ rule: 'eval', line: 100 })
    expect(findings[100]).toMatchObject({
      rule: 'findings-capped',
      message: '50 more findings in this file are not listed (at most 100 per file)',
    })
    expect(analyzeSource('many.js', text, { maxFindingsPerFile: 5 })).toHaveLength(6)
  })

  it('a FIFO named like a module is reported, not read; a symbolic link is not followed', async () => {
    const dir = mkdtempSync(path.join(tmp, 'pkg-'))
    execFileSync('mkfifo', [path.join(dir, 'pipe.js')])
    symlinkSync(path.join(FIXTURES, 'hostile', 'eval.mjs'), path.join(dir, 'linked.mjs'))
    writeFileSync(path.join(dir, 'index.js'), 'export default 1\n')
    const { findings, files } = await analyzePaths([dir])
    expect(files).toBe(1)
    expect(findings.map((f) => [path.basename(f.file), f.rule, f.message])).toEqual([
      ['linked.mjs', 'skipped-file', 'not analyzed: a symbolic link, not followed'],
      ['pipe.js', 'skipped-file', 'not analyzed: a FIFO (named pipe), not a regular file'],
    ])
  })

  it('the number of files is capped, with a finding', async () => {
    const { findings, files } = await analyzePaths([path.join(FIXTURES, 'hostile')], { maxFiles: 2 })
    expect(files).toBe(2)
    expect(findings).toContainEqual(
      expect.objectContaining({
        rule: 'skipped-file',
        message: 'more than 2 JavaScript files: the rest were not analyzed',
      }),
    )
  })
})

describe('positions and parsing', () => {
  it('lines count \\r\\n, \\r and U+2028 like the language; columns are 1-based UTF-16', () => {
    const text = 'const a = 1\r\nconst b = 2\rconst s = "\u2028"\u2028const é = 1; eval(a)\n'
    // U+2028 ends a line even inside a string literal (acorn and V8 count it so)
    expect(brief(analyzeSource('crlf.js', text))).toEqual([{ rule: 'eval', line: 5, column: 14 }])
  })

  it('.cjs parses as a script first (sloppy mode, `with`), .mjs only as a module', () => {
    expect(analyzeSource('old.cjs', 'with (Math) { eval(x) }\n').map((f) => f.rule)).toEqual(['eval'])
    expect(analyzeSource('old.mjs', 'with (Math) { eval(x) }\n')).toEqual([
      expect.objectContaining({ rule: 'parse-error', line: 1, column: 1 }),
    ])
  })
})

describe('compareWithPermissions', () => {
  const analyze = async (n: string) => (await analyzePaths([path.join(FIXTURES, 'hostile', n)])).findings

  it('marks each finding declared or not against the manifest permissions', async () => {
    const findings = [
      ...(await analyze('key-theft.mjs')),
      ...(await analyze('env-theft.mjs')),
      ...(await analyze('beacon.mjs')),
      ...(await analyze('spawn-import.mjs')),
      ...(await analyze('eval.mjs')),
    ]
    const checked = compareWithPermissions(findings, {
      fs: { read: ['/etc/hostname'], write: ['/tmp', '/home/user/.mirador/**/*.yaml'] },
      network: ['*.evil.example'],
      env: ['HOME', 'GH_TOKEN'],
    })
    const declared = (name: string, line: number) =>
      checked.filter((f) => path.basename(f.file) === name && f.line === line).map((f) => f.declared)
    expect(declared('key-theft.mjs', 5)).toEqual([false]) // reads the key: not declared
    expect(declared('key-theft.mjs', 6)).toEqual([true]) // /tmp/stolen.key is under /tmp
    expect(declared('key-theft.mjs', 8)).toEqual([false]) // rm of the journal
    expect(declared('key-theft.mjs', 13)).toEqual([true]) // a computed path: covered by declaring writes at all
    expect(declared('key-theft.mjs', 18)).toEqual([true]) // /etc/hostname, declared for reading
    expect(declared('key-theft.mjs', 19)).toEqual([true]) // matched by the glob
    expect(declared('env-theft.mjs', 4)).toEqual([true]) // HOME
    expect(declared('env-theft.mjs', 6)).toEqual([false, true]) // AWS_SECRET_ACCESS_KEY, GH_TOKEN
    expect(declared('beacon.mjs', 3)).toEqual([true]) // c2.evil.example:8443 under *.evil.example
    expect(declared('spawn-import.mjs', 2)).toEqual([false]) // childProcess not declared
    expect(declared('eval.mjs', 3)).toEqual([false]) // no permission grants eval
    expect(compareWithPermissions(await analyze('spawn-import.mjs'), { childProcess: true })).toEqual(
      (await analyze('spawn-import.mjs')).map((f) => ({ ...f, declared: true })),
    )
  })

  it('a declared port must match; a bare domain does not cover its subdomains', async () => {
    const beacon = await analyze('beacon.mjs')
    const hosts = (network: string[]) =>
      compareWithPermissions(beacon, { network })
        .filter((f) => f.permission?.kind === 'network' && 'host' in f.permission && f.permission.host)
        .map((f) => f.declared)
    // beacon.evil.example, c2.evil.example:8443, api.evil.example
    expect(hosts(['c2.evil.example:443', 'evil.example'])).toEqual([false, false, false])
    expect(hosts(['c2.evil.example:8443', 'api.evil.example'])).toEqual([false, true, true])
    expect(hosts(['c2.evil.example'])).toEqual([false, true, false])
  })
})
