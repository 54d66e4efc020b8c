/** The store's small parts: install scripts npm would run, and enabling plugins in config.yaml. */
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { installScriptsOf } from '../../src/plugin-store/install-scripts.js'
import { disablePlugin, enablePlugin } from '../../src/plugin-store/user-config.js'

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mirador-store-'))

describe('install scripts', () => {
  it('lists preinstall, install and postinstall, not other scripts', () => {
    const found = installScriptsOf(tmp(), {
      name: 'p',
      scripts: { preinstall: 'a', postinstall: 'b', test: 'jest', prepare: 'tsc' },
    })
    expect(found.map((s) => [s.script, s.command])).toEqual([
      ['preinstall', 'a'],
      ['postinstall', 'b'],
    ])
  })

  it('counts the node-gyp build npm runs for a binding.gyp, unless gypfile is false', () => {
    const dir = tmp()
    writeFileSync(path.join(dir, 'binding.gyp'), '{}')
    expect(installScriptsOf(dir, { name: 'native' })).toEqual([
      { package: 'native', dir, script: 'install', command: 'node-gyp rebuild (binding.gyp)' },
    ])
    expect(installScriptsOf(dir, { name: 'native', gypfile: false })).toEqual([])
  })
})

describe('enabling installed plugins in config.yaml', () => {
  it('adds the name once, keeps comments and other entries, removes string and map entries', async () => {
    const file = path.join(tmp(), 'config.yaml')
    writeFileSync(file, '# mine\nplugins:\n  - ./local # dev\n  - name: other\n    optional: true\n')
    expect(await enablePlugin(file, 'mirador-plugin-today')).toBe(true)
    expect(await enablePlugin(file, 'mirador-plugin-today')).toBe(false)
    expect(readFileSync(file, 'utf8')).toBe(
      '# mine\nplugins:\n  - ./local # dev\n  - name: other\n    optional: true\n  - mirador-plugin-today\n',
    )
    expect(await disablePlugin(file, 'other')).toBe(true)
    expect(await disablePlugin(file, 'missing')).toBe(false)
    expect(readFileSync(file, 'utf8')).toBe('# mine\nplugins:\n  - ./local # dev\n  - mirador-plugin-today\n')
  })

  it('creates the file when there is none', async () => {
    const file = path.join(tmp(), 'config.yaml')
    await enablePlugin(file, '@scope/plugin')
    expect(readFileSync(file, 'utf8')).toBe('plugins:\n  - "@scope/plugin"\n')
  })
})
