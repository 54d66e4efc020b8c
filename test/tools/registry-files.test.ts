/**
 * Two holes a red-team pass found in loading tools, closed: a `source` that is not a regular file
 * (a FIFO blocked the read forever) and a parameter `pattern` that backtracks (ajv's RegExp took
 * 9 s on `^(a+)+$`). Real files, a real FIFO (mkfifo), the real ajv and RE2.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import { linearRegExp } from '../../src/lib/linear-regexp.js'
import { loadTool, MAX_SOURCE_BYTES, parametersAjv } from '../../src/plugins/tools/registry.js'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-registry-'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function tool(name: string, yaml: string, source?: string): string {
  const file = path.join(dir, `${name}.yaml`)
  writeFileSync(file, yaml)
  if (source !== undefined) writeFileSync(path.join(dir, `${name}.mjs`), source)
  return file
}

const plain = (name: string, source = `${name}.mjs`) =>
  `name: ${name}\ndescription: A tool.\nparameters: { type: object }\nsource: ${source}\n`

async function refusal(file: string): Promise<MiradorError> {
  const err = await loadTool(file).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(MiradorError)
  return err as MiradorError
}

describe('a tool source must be a regular file of bounded size', () => {
  it('a FIFO is refused at the source: key, without opening it for a blocking read', async () => {
    execFileSync('mkfifo', [path.join(dir, 'piped.mjs')])
    const e = await refusal(tool('piped', plain('piped')))
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.format()).toBe(
      `${path.join(dir, 'piped.yaml')}:4:9: source: piped.mjs is a FIFO (named pipe), not a regular file. ` +
        "Point source: at the tool's .js or .mjs file.",
    )
  })

  it('a folder named like a module is refused', async () => {
    mkdirSync(path.join(dir, 'folder.mjs'))
    const e = await refusal(tool('folder', plain('folder')))
    expect(e.message).toContain('source: folder.mjs is a folder, not a regular file')
    expect(e.location).toMatchObject({ line: 4, column: 9 })
  })

  it('a module over the bound is refused with its size', async () => {
    const e = await refusal(tool('huge', plain('huge'), `// ${'x'.repeat(MAX_SOURCE_BYTES)}\n`))
    expect(e.message).toMatch(/source: huge\.mjs is \d+ bytes, over the 1048576 bytes a tool's module may have/)
  })

  it('a regular module loads as before', async () => {
    const t = await loadTool(tool('fine', plain('fine'), 'export default () => 1\n'))
    expect(t.source).toBe('export default () => 1\n')
  })
})

describe('parameter patterns are matched by RE2', () => {
  const withSchema = (name: string, parameters: string) =>
    tool(name, `name: ${name}\ndescription: A tool.\nparameters:\n${parameters}source: fine.mjs\n`)

  it('the backtracking pattern of the red team is answered (no match) by RE2, the engine ajv was given', async () => {
    const t = await loadTool(
      withSchema('redos', '  type: object\n  properties:\n    s: { type: string, pattern: "^(a+)+$" }\n'),
    )
    expect(parametersAjv().opts.code.regExp).toBe(linearRegExp)
    expect(t.validate({ s: `${'a'.repeat(28)}!` })).toBe(false)
    expect(t.validate.errors?.[0]).toMatchObject({ keyword: 'pattern', instancePath: '/s' })
    expect(t.validate({ s: 'aaaa' })).toBe(true)
  })

  it('a lookahead RE2 cannot compile is CONFIG_INVALID at the pattern, not a crash', async () => {
    const e = await refusal(
      withSchema(
        'ahead',
        '  type: object\n  properties:\n    s:\n      type: string\n      pattern: "^(?=.*\\\\d)\\\\w+$"\n',
      ),
    )
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.location).toMatchObject({ file: path.join(dir, 'ahead.yaml'), line: 8, column: 16 })
    expect(e.message).toContain('parameters: pattern "^(?=.*\\\\d)\\\\w+$": invalid perl operator: (?=')
    expect(e.message).toContain('no lookahead')
  })

  it('a backreference deep in the schema (items of anyOf) is found where it is written', async () => {
    const e = await refusal(
      withSchema(
        'backref',
        '  type: object\n  properties:\n    l:\n      type: array\n      items:\n        anyOf:\n' +
          '          - { type: number }\n          - { type: string, pattern: "(a)\\\\1" }\n',
      ),
    )
    expect(e.location).toMatchObject({ line: 11, column: 38 })
    expect(e.message).toContain('invalid escape sequence: \\1')
  })

  it('patternProperties keys are RE2 too: a good key validates, a lookbehind key is reported at the key', async () => {
    const t = await loadTool(
      withSchema(
        'props',
        '  type: object\n  patternProperties:\n    "^x_[a-z]+$": { type: integer }\n  additionalProperties: false\n',
      ),
    )
    expect(t.validate({ x_ab: 1 })).toBe(true)
    expect(t.validate({ x_ab: 'one' })).toBe(false)
    expect(t.validate({ y: 1 })).toBe(false)
    const e = await refusal(
      withSchema('behind', '  type: object\n  patternProperties:\n    "(?<=a)b": { type: integer }\n'),
    )
    expect(e.location).toMatchObject({ line: 6, column: 5 })
    expect(e.message).toContain('pattern "(?<=a)b"')
  })

  it('a `pattern` key inside default or enum is data, not a regular expression', async () => {
    const t = await loadTool(
      withSchema(
        'data',
        '  type: object\n  properties:\n    o:\n      type: object\n      default: { pattern: "(?=x)" }\n',
      ),
    )
    expect(t.validate({ o: { pattern: 'anything' } })).toBe(true)
  })
})
