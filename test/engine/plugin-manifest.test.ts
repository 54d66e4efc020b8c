import { describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import { readPluginManifest } from '../../src/engine/plugin-manifest.js'

/** A plugin folder with `package.json` holding `pkg` (text as given, or an object written as JSON) and index.js. */
function plugin(pkg: string | object | undefined, sub = ''): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-manifest-'))
  if (pkg !== undefined)
    writeFileSync(path.join(dir, 'package.json'), typeof pkg === 'string' ? pkg : JSON.stringify(pkg, null, 2))
  mkdirSync(path.join(dir, sub), { recursive: true })
  writeFileSync(path.join(dir, sub, 'index.js'), 'export default {}\n')
  return path.join(dir, sub, 'index.js')
}

async function failure(entry: string): Promise<MiradorError> {
  try {
    await readPluginManifest(entry)
  } catch (err) {
    if (err instanceof MiradorError) return err
    throw err
  }
  throw new Error('the manifest was accepted')
}

describe('readPluginManifest', () => {
  it('reads the mirador field of the nearest package.json, permissions defaulting to none', async () => {
    const entry = plugin(
      {
        name: 'mirador-plugin-x',
        version: '1.2.3',
        scripts: { test: 'jest' },
        mirador: { apiVersion: 1, hooks: ['prompt'] },
      },
      'lib/deep',
    )
    const m = await readPluginManifest(entry)
    expect(m).toMatchObject({
      name: 'mirador-plugin-x',
      version: '1.2.3',
      dir: path.resolve(entry, '../../..'),
      packageFile: path.resolve(entry, '../../../package.json'),
      scripts: { test: 'jest' },
      manifest: { apiVersion: 1, hooks: ['prompt'], permissions: {} },
    })
  })

  it('a package.json without mirador is refused with what to add, at its name', async () => {
    const entry = plugin('{\n  "name": "no-manifest",\n  "version": "1.0.0"\n}\n')
    const e = await failure(entry)
    expect(e.code).toBe('PLUGIN_MANIFEST')
    expect(e.message).toContain('no "mirador" field')
    expect(e.message).toContain('"apiVersion": 1, "hooks"')
    expect(e.location).toEqual({ file: path.join(path.dirname(entry), 'package.json'), line: 2, column: 3 })
  })

  it('no package.json at all is refused with what to add', async () => {
    const e = await failure(plugin(undefined, 'node_modules/p'))
    expect(e.code).toBe('PLUGIN_MANIFEST')
    expect(e.message).toMatch(/has no package\.json at or above it.*"mirador"/)
  })

  it('a schema problem is placed at file:line:column of package.json', async () => {
    const text = '{\n\t"name": "bad",\n\t"mirador": {\n\t\t"apiVersion": 1,\n\t\t"hooks": ["prompt", "nope"]\n\t}\n}\n'
    const e = await failure(plugin(text))
    expect(e.code).toBe('PLUGIN_MANIFEST')
    expect(e.location).toMatchObject({ line: 5, column: 23 })
    expect(e.message).toMatch(/^plugin bad: package\.json mirador\.hooks\[1\].*prompt.*docs\/plugins\.md/)
    expect(e.format()).toMatch(/package\.json:5:23: plugin bad/)
  })

  it('an unknown key and a bad permission are both reported, the first thrown', async () => {
    const text = JSON.stringify(
      { name: 'bad2', mirador: { apiVersion: 1, hooks: [], permissions: { network: ['not a host'] }, hoks: [] } },
      null,
      2,
    )
    const e = await failure(plugin(text))
    expect(e.code).toBe('PLUGIN_MANIFEST')
    expect(e.details?.problems).toHaveLength(2)
    expect(e.message).toContain('network')
    expect(String((e.details?.problems as string[])[1])).toContain('hoks')
  })

  it('package.json that is not JSON is refused at the position JSON.parse names', async () => {
    const e = await failure(plugin('{\n  "name": "x",\n}\n'))
    expect(e.code).toBe('PLUGIN_MANIFEST')
    expect(e.message).toContain('not valid JSON')
    expect(e.location).toMatchObject({ line: 3, column: 1 })
  })

  it('an apiVersion this Mirador does not support is PLUGIN_API at mirador.apiVersion', async () => {
    const e = await failure(plugin('{\n  "mirador": {\n    "apiVersion": 7,\n    "hooks": []\n  }\n}\n'))
    expect(e.code).toBe('PLUGIN_API')
    expect(e.location).toMatchObject({ line: 3, column: 19 })
  })
})
