import { describe, expect, it } from '@jest/globals'
import { resolve } from 'node:path'
import {
  expandEnv,
  loadConfigFile,
  loadConfigText,
  manifestPath,
  resolveManifestPath,
  type ManifestFile,
} from '../../src/engine/config/index.js'
import { MiradorError } from '../../src/engine/errors.js'

describe('expandEnv', () => {
  const env = { HOME: '/home/me', MODELS: 'models', EMPTY: '' }

  it('replaces ${VAR} references', () => {
    expect(expandEnv('${HOME}/${MODELS}/tiny.gguf', env)).toBe('/home/me/models/tiny.gguf')
    expect(expandEnv('no references', env)).toBe('no references')
    expect(expandEnv('', env)).toBe('')
  })

  it('supports ${VAR:-fallback}, $$ and a lone $', () => {
    expect(expandEnv('${NOPE:-/opt/m.gguf}', env)).toBe('/opt/m.gguf')
    expect(expandEnv('${EMPTY:-x}', env)).toBe('x')
    expect(expandEnv('${HOME:-x}', env)).toBe('/home/me')
    expect(expandEnv('cost$$5 and $HOME', env)).toBe('cost$5 and $HOME')
    expect(expandEnv('${EMPTY}', env)).toBe('')
  })

  it('does not expand values again', () => {
    expect(expandEnv('${A}', { A: '${B}', B: 'no' })).toBe('${B}')
  })

  it('names a missing variable, with the location when given', () => {
    const where = { file: 'models/manifest.yaml', line: 4, column: 40 }
    let err: unknown
    try {
      expandEnv('${MIRADOR_GGUF}', {}, where)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MiradorError)
    const e = err as MiradorError
    expect(e.code).toBe('CONFIG_INVALID')
    expect(e.message).toContain('environment variable MIRADOR_GGUF is not set')
    expect(e.location).toEqual(where)
    expect(e.details).toEqual({ variable: 'MIRADOR_GGUF' })
  })

  it('refuses malformed references', () => {
    expect(() => expandEnv('${unclosed', env)).toThrow(/unclosed/)
    expect(() => expandEnv('${1BAD}', env)).toThrow(/not a valid environment variable reference/)
    expect(() => expandEnv('${}', env)).toThrow(MiradorError)
  })

  it('uses process.env by default', () => {
    process.env.MIRADOR_TEST_ENV_VAR = 'yes'
    expect(expandEnv('${MIRADOR_TEST_ENV_VAR}')).toBe('yes')
    delete process.env.MIRADOR_TEST_ENV_VAR
  })
})

describe('resolveManifestPath', () => {
  const file = 'test/fixtures/config/good/models/manifest.yaml'

  it('a path written in the manifest is relative to its folder, one from a variable to the working one', async () => {
    const loaded = await loadConfigFile<ManifestFile>(file, 'manifest')
    expect(resolveManifestPath(loaded, 'tiny', 'file', { MIRADOR_GGUF: '/abs/tiny.gguf' })).toBe('/abs/tiny.gguf')
    // what a user types in the shell (MIRADOR_GGUF=../shared/m.gguf) is read from where they type it
    expect(resolveManifestPath(loaded, 'tiny', 'file', { MIRADOR_GGUF: '../shared/m.gguf' }, '/work/me')).toBe(
      '/work/shared/m.gguf',
    )
    expect(manifestPath(loaded, 'tiny', 'file', { MIRADOR_GGUF: 'rel/tiny.gguf' }, '/work/me')).toMatchObject({
      path: '/work/me/rel/tiny.gguf',
      variable: 'MIRADOR_GGUF',
      value: 'rel/tiny.gguf',
      base: '/work/me',
      location: { file, line: 9, column: 36 },
    })
    expect(resolveManifestPath(loaded, 'stories', 'file', {})).toBe(
      resolve('test/fixtures/config/good/models/stories260K.gguf'),
    )
    expect(resolveManifestPath(loaded, 'stories', 'lora', {})).toBe(
      resolve('test/fixtures/config/good/models/adapters/story.gguf'),
    )
    expect(manifestPath(loaded, 'stories', 'file', {}, '/work/me')).toMatchObject({
      base: resolve('test/fixtures/config/good/models'),
    })
    expect(manifestPath(loaded, 'stories', 'file', {})!.variable).toBeUndefined()
    expect(resolveManifestPath(loaded, 'quick', 'file', {})).toBeUndefined()
    expect(resolveManifestPath(loaded, 'nope', 'file', {})).toBeUndefined()
  })

  it('only a path that starts with a variable is read from the working folder', () => {
    const loaded = loadConfigText<ManifestFile>(
      [
        'models:',
        '  fallback: { runtime: llamacpp, base: "${NOPE:-rel/a.gguf}" }',
        '  inside: { runtime: llamacpp, base: "weights/${NAME}.gguf" }',
        '  empty: { runtime: llamacpp, base: "${EMPTY}w/e.gguf" }',
        '  lead: { runtime: llamacpp, base: "${DIR}/b.gguf" }',
        '',
      ].join('\n'),
      '/proj/models/manifest.yaml',
      'manifest',
    )
    const env = { NAME: 'x', EMPTY: '', DIR: 'models' }
    const at = (m: string) => resolveManifestPath(loaded, m, 'base', env, '/work/me')
    expect(at('fallback')).toBe('/proj/models/rel/a.gguf')
    expect(at('inside')).toBe('/proj/models/weights/x.gguf')
    expect(at('empty')).toBe('/proj/models/w/e.gguf')
    expect(at('lead')).toBe('/work/me/models/b.gguf')
  })

  it('a missing variable points at the file: value in the manifest', async () => {
    const loaded = await loadConfigFile<ManifestFile>(file, 'manifest')
    try {
      resolveManifestPath(loaded, 'tiny', 'file', {})
      throw new Error('expected an error')
    } catch (e) {
      expect(MiradorError.is(e, 'CONFIG_INVALID')).toBe(true)
      expect((e as MiradorError).format()).toMatch(
        /^test\/fixtures\/config\/good\/models\/manifest\.yaml:9:36: environment variable MIRADOR_GGUF is not set/,
      )
    }
  })
})
