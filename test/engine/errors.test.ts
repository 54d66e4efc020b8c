import { describe, expect, it } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { ERROR_CODES, MiradorError } from '../../src/engine/errors.js'

describe('MiradorError', () => {
  it('docs/errors.md lists every stable code', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8')
    for (const code of Object.keys(ERROR_CODES)) expect(doc).toContain(`\`${code}\``)
  })

  it('formats a location as file:line:column and serialises without a stack', () => {
    const e = new MiradorError('CONFIG_INVALID', 'stages.a: unknown key "x"', {
      location: { file: 'chains/a.yaml', line: 3, column: 5 },
    })
    expect(e.format()).toBe('chains/a.yaml:3:5: stages.a: unknown key "x"')
    expect(JSON.stringify(e)).toBe(
      '{"code":"CONFIG_INVALID","message":"stages.a: unknown key \\"x\\"",' +
        '"location":{"file":"chains/a.yaml","line":3,"column":5}}',
    )
  })

  it('wraps foreign errors, keeping them as the cause', () => {
    const cause = new TypeError('fetch failed')
    const e = MiradorError.from(cause, 'RUNTIME_FAILED', 'stage deep')
    expect(e).toMatchObject({ code: 'RUNTIME_FAILED', message: 'stage deep: fetch failed', cause })
    expect(MiradorError.from(e)).toBe(e)
  })
})

describe('MiradorError across copies of the module', () => {
  it('an error from another copy (a plugin importing the compiled modules while the CLI runs bundled) is one', () => {
    const foreign: unknown = Object.assign(new Error('from the other copy'), {
      [Symbol.for('mirador.error')]: true,
      code: 'USAGE',
    })
    expect(foreign instanceof MiradorError).toBe(true)
    expect(MiradorError.is(foreign, 'USAGE')).toBe(true)
    expect(MiradorError.from(foreign)).toBe(foreign)
    expect(new Error('plain') instanceof MiradorError).toBe(false)
    const nothing: unknown = null
    expect(nothing instanceof MiradorError).toBe(false)
  })
})
