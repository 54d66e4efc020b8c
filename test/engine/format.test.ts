import { describe, expect, it } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { formatProblems, parseOutput, requestFormat, schemaProblems } from '../../src/engine/format.js'
import { jsonSyntaxError } from '../../src/engine/json-position.js'

const SCHEMA = { type: 'object', required: ['n'], properties: { n: { type: 'integer' } } }

function stageError(f: () => unknown): MiradorError {
  try {
    f()
  } catch (e) {
    if (e instanceof MiradorError) return e
    throw e
  }
  throw new Error('expected a MiradorError')
}

describe('jsonSyntaxError', () => {
  const valid = ['{}', '[]', ' {"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"]} ', '"s"', '0', '[{"a":{}}]']
  const invalid: [string, number][] = [
    ['', 0],
    ['{', 1],
    ['{"a" 1}', 5],
    ['{"a": 1,}', 8],
    ['[1 2]', 3],
    ['{"a":\n  oops}', 8],
    ['{} x', 3],
    ['"a\u0001"', 2],
    ['01', 1],
    ['{"a": tru}', 9],
  ]
  it('accepts exactly what JSON.parse accepts', () => {
    for (const s of valid) {
      expect(() => JSON.parse(s)).not.toThrow()
      expect(jsonSyntaxError(s)).toBeUndefined()
    }
    for (const [s] of invalid) {
      expect(() => JSON.parse(s)).toThrow()
      expect(jsonSyntaxError(s)).toBeDefined()
    }
  })
  it('gives the offset of the first character that cannot continue', () => {
    for (const [s, offset] of invalid) expect([s, jsonSyntaxError(s)!.offset]).toEqual([s, offset])
  })
})

describe('parseOutput', () => {
  it('returns the parsed value for json and for a matching schema', () => {
    expect(parseOutput('a', 'json', ' [1, 2] ')).toEqual([1, 2])
    expect(parseOutput('a', { schema: SCHEMA }, '{"n": 3}')).toEqual({ n: 3 })
  })
  it('text that is not JSON: STAGE_FORMAT with line and column', () => {
    const e = stageError(() => parseOutput('a', 'json', '{\n  "n": 1,\n  x\n}'))
    expect(e.code).toBe('STAGE_FORMAT')
    expect(e.message).toMatch(/"x" where a property name in double quotes should be, at line 3, column 3/)
    expect(e.details).toMatchObject({ stage: 'a', line: 3, column: 3 })
    expect(e.message).not.toContain('\n')
  })
  it('an answer cut off: the position is its end', () => {
    const e = stageError(() => parseOutput('a', 'json', '{"n": [1,'))
    expect(e.message).toMatch(/ends where a JSON value should follow, at line 1, column 10/)
  })
  it('JSON failing the schema: STAGE_FORMAT with the pointer and what was expected', () => {
    const e = stageError(() => parseOutput('a', { schema: SCHEMA }, '{"n": "three", "m": 1}'))
    expect(e.code).toBe('STAGE_FORMAT')
    expect(e.message).toMatch(/at \/n: must be integer/)
    expect(e.details).toMatchObject({ pointer: '/n' })
    expect(stageError(() => parseOutput('a', { schema: SCHEMA }, '{}')).message).toMatch(/at \/: missing property "n"/)
  })
})

describe('format schemas', () => {
  it('a valid schema has no problems; requestFormat passes it on', () => {
    expect(schemaProblems(SCHEMA)).toEqual([])
    expect(requestFormat({ schema: SCHEMA })).toBe(SCHEMA)
    expect(requestFormat('json')).toBe('json')
  })
  it('an invalid schema is reported at its path in the chain file', () => {
    const problems = formatProblems({
      a: { model: 'm', prompt: 'p', format: { schema: { type: 'object', required: 'n' } } },
      b: { model: 'm', prompt: 'p', format: 'json' },
      c: { model: 'm', prompt: 'p', format: { schema: { type: 'object', propertees: {} } } },
    })
    expect(problems.map((p) => p.path)).toEqual([
      ['stages', 'a', 'format', 'schema', 'required'],
      ['stages', 'c', 'format', 'schema'],
    ])
    expect(problems[1]!.message).toMatch(/stage "c": format schema does not compile: .*propertees/)
    const draft = schemaProblems({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'object' })
    expect(draft).toEqual([{ path: ['$schema'], message: expect.stringMatching(/draft Mirador does not know/) }])
  })
})
