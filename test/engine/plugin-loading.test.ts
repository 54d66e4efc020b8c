import { describe, expect, it } from '@jest/globals'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { Engine } from '../../src/engine/engine.js'
import { MiradorError } from '../../src/engine/errors.js'
import type { PluginEntry, PluginLoading } from '../../src/engine/plugins.js'
import type { SandboxSpec } from '../../src/engine/plugin-sandbox-slot.js'

/** A plugin package: index.js writes `ran` beside itself when imported and taps `hook`. */
function pluginDir(manifest: object | undefined, hook = 'prompt'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-loading-'))
  mkdirSync(path.join(dir, 'p'))
  const pkg = { name: 'p-plugin', type: 'module', ...(manifest ? { mirador: manifest } : {}) }
  writeFileSync(path.join(dir, 'p', 'package.json'), JSON.stringify(pkg))
  writeFileSync(
    path.join(dir, 'p', 'index.js'),
    `import { writeFileSync } from 'node:fs'
writeFileSync(new URL('./ran', import.meta.url), 'x')
export default () => ({ name: 'P', apiVersion: 1, apply: (e) => e.hooks.${hook}.tap('P', (v) => v) })
`,
  )
  return dir
}

const MANIFEST = { apiVersion: 1, hooks: ['prompt'], templateVars: ['pv'], stageKeys: { p_key: { type: 'string' } } }

async function load(dir: string, entry: Partial<Exclude<PluginEntry, string>>, loading: PluginLoading = {}) {
  const engine = new Engine({ cwd: dir, home: path.join(dir, 'home'), offline: true, memory: false, config: {} })
  await engine.useConfigured([{ entry: { name: './p', ...entry }, baseDir: dir }], loading)
  return { engine, ran: existsSync(path.join(dir, 'p', 'ran')) }
}

describe('loading a configured third-party plugin', () => {
  it('trusted: true imports it in process, held to its manifest, with its declarations registered', async () => {
    const dir = pluginDir(MANIFEST)
    const { engine, ran } = await load(dir, { trusted: true })
    expect(engine.pluginErrors).toEqual([])
    expect(ran).toBe(true)
    expect(engine.plugins).toContain('P')
    expect(engine.templateVars().has('pv')).toBe(true)
    expect(Object.keys(engine.stageKeys())).toEqual(['p_key'])
  })

  it('trusted, tapping a hook it does not declare: PLUGIN_UNDECLARED at its entry, required', async () => {
    const { engine } = await load(pluginDir(MANIFEST, 'route'), { trusted: true })
    expect(engine.pluginErrors).toEqual([
      expect.objectContaining({
        code: 'PLUGIN_UNDECLARED',
        details: expect.objectContaining({ hook: 'route', required: true }),
      }),
    ])
  })

  it('not trusted: handed to the sandbox factory with its spec; dispose stops it', async () => {
    const dir = pluginDir(MANIFEST)
    const specs: SandboxSpec[] = []
    let stopped = 0
    const sandbox = (spec: SandboxSpec) => {
      specs.push(spec)
      return { name: spec.name, apiVersion: 1, apply() {}, stop: async () => void stopped++ }
    }
    const { engine, ran } = await load(dir, { options: { a: 1 } }, { sandbox })
    expect(ran).toBe(false)
    expect(engine.pluginErrors).toEqual([])
    expect(specs).toEqual([
      {
        name: 'p-plugin',
        entryFile: path.join(dir, 'p', 'index.js'),
        dir: path.join(dir, 'p'),
        manifest: { ...MANIFEST, permissions: {} },
        options: { a: 1 },
        home: path.join(dir, 'home'),
      },
    ])
    expect(engine.plugins).toContain('p-plugin')
    await engine.dispose()
    expect(stopped).toBe(1)
  })

  it('not trusted, with no sandbox: PLUGIN_SANDBOX saying to mark it trusted, and none of its code runs', async () => {
    const { engine, ran } = await load(pluginDir(MANIFEST), {})
    expect(ran).toBe(false)
    expect(engine.pluginErrors[0]).toMatchObject({
      code: 'PLUGIN_SANDBOX',
      message: expect.stringContaining('trusted: true'),
    })
  })

  it('code: false reads the manifest only: declarations registered, no import, no approval asked', async () => {
    const dir = pluginDir(MANIFEST)
    let asked = 0
    const { engine, ran } = await load(dir, { trusted: true }, { code: false, approve: async () => void asked++ })
    expect(ran).toBe(false)
    expect(asked).toBe(0)
    expect(engine.pluginErrors).toEqual([])
    expect(Object.keys(engine.stageKeys())).toEqual(['p_key'])
  })

  it('an approval refused keeps its code from running; its error is placed at the entry', async () => {
    const dir = pluginDir(MANIFEST)
    const approve = async () => {
      throw new MiradorError('PLUGIN_UNAPPROVED', 'not approved', { details: { plugin: 'p-plugin' } })
    }
    const { engine, ran } = await load(dir, { trusted: true, optional: true }, { approve })
    expect(ran).toBe(false)
    expect(engine.pluginErrors).toEqual([
      expect.objectContaining({ code: 'PLUGIN_UNAPPROVED', details: expect.objectContaining({ required: false }) }),
    ])
  })

  it('a plugin without a manifest is refused before any of its code runs', async () => {
    const { engine, ran } = await load(pluginDir(undefined), { trusted: true })
    expect(ran).toBe(false)
    expect(engine.pluginErrors[0]).toMatchObject({ code: 'PLUGIN_MANIFEST' })
  })
})
