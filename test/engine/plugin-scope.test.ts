import { describe, expect, it } from '@jest/globals'
import { Engine } from '../../src/engine/engine.js'
import type { PluginManifest } from '../../src/engine/config/types.gen.js'
import type { ChainFile } from '../../src/engine/config/index.js'
import type { MiradorPlugin } from '../../src/engine/plugins.js'
import { declaredOnly, scopedPlugin } from '../../src/engine/plugin-scope.js'
import { scriptedModels } from '../support/scripted-model.js'

const chain: ChainFile = { stages: { only: { model: 'm', prompt: 'Today is {{today}}. {{query}}' } } }

function engineWith() {
  const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: true, config: {} })
  const models = scriptedModels({ m: { tokens: [' ok'] } })
  engine.use(models.plugin)
  return { engine, calls: models.calls }
}

function plugin(apply: MiradorPlugin['apply']): MiradorPlugin {
  return { name: 'Today', apiVersion: 1, apply }
}

const manifest: PluginManifest = {
  apiVersion: 1,
  hooks: ['prompt'],
  capabilities: ['memory.search'],
  provides: ['today.now'],
  templateVars: ['today'],
  stageKeys: { today_format: { type: 'string' } },
}

describe('scopeHost: a third-party plugin is held to its manifest', () => {
  it('a declared hook is tapped as usual, and the manifest registers its variables and stage keys', async () => {
    const { engine, calls } = engineWith()
    const ok = engine.use(
      scopedPlugin(
        plugin((e) => e.hooks.prompt.tap('Today', (p) => ({ ...p, vars: { ...p.vars, today: 'Monday' } }))),
        manifest,
      ),
    )
    expect(ok).toBe(true)
    expect(engine.templateVars().has('today')).toBe(true)
    expect(engine.stageKeys()).toEqual({ today_format: { type: 'string' } })
    await engine.run({ chain: { name: 'c', value: chain }, query: 'hi' })
    expect(calls[0]!.prompt).toBe('Today is Monday. hi')
  })

  it.each([
    [
      'taps an undeclared hook',
      (e: Parameters<MiradorPlugin['apply']>[0]) => e.hooks.route.tapPromise('T', async () => undefined),
      'the hook "route"',
      { hook: 'route' },
    ],
    [
      'intercepts an undeclared hook',
      (e: Parameters<MiradorPlugin['apply']>[0]) => e.hooks.model.intercept({}),
      'the hook "model"',
      { hook: 'model' },
    ],
    [
      'calls an undeclared capability',
      (e: Parameters<MiradorPlugin['apply']>[0]) => e.capability('memory.remember'),
      'capability "memory.remember"',
      { capability: 'memory.remember' },
    ],
    [
      'offers a capability it does not provide',
      (e: Parameters<MiradorPlugin['apply']>[0]) => e.registerCapability('memory.search', async () => 1),
      'offers the capability "memory.search"',
      { capability: 'memory.search' },
    ],
    [
      'registers an undeclared stage key',
      (e: Parameters<MiradorPlugin['apply']>[0]) => e.registerStageKeys({ other: {} }),
      'stage key "other"',
      {},
    ],
    [
      'registers an undeclared template variable',
      (e: Parameters<MiradorPlugin['apply']>[0]) => e.registerTemplateVars(['tomorrow']),
      'variable "tomorrow"',
      {},
    ],
  ])('a plugin that %s is refused by name (PLUGIN_UNDECLARED) and its taps are off', async (_, act, words, details) => {
    const { engine, calls } = engineWith()
    const ok = engine.use(
      scopedPlugin(
        plugin((e) => {
          e.hooks.prompt.tap('Today', (p) => ({ ...p, template: 'HIJACKED' }))
          act(e)
        }),
        manifest,
      ),
    )
    expect(ok).toBe(false)
    expect(engine.pluginErrors).toHaveLength(1)
    expect(engine.pluginErrors[0]).toMatchObject({
      code: 'PLUGIN_UNDECLARED',
      message: expect.stringContaining(words),
      details: { plugin: 'Today', ...details },
    })
    expect(engine.pluginErrors[0]!.message).toMatch(/^plugin Today /)
    await engine.run({ chain: { name: 'c', value: chain }, query: 'hi' })
    expect(calls[0]!.prompt).not.toContain('HIJACKED')
  })

  it('declared capabilities, provided ones and re-registering declared keys and variables are allowed', async () => {
    const { engine } = engineWith()
    engine.use({ name: 'Mem', apiVersion: 1, apply: (e) => e.registerCapability('memory.search', async () => ['hit']) })
    let got: unknown
    const ok = engine.use(
      scopedPlugin(
        plugin((e) => {
          e.registerTemplateVars(['today'])
          e.registerStageKeys({ today_format: { type: 'string' } })
          e.registerCapability('today.now', async () => 'now')
          got = e.capability('memory.search')
        }),
        manifest,
      ),
    )
    expect(engine.pluginErrors).toEqual([])
    expect(ok).toBe(true)
    expect(await (got as (a: unknown) => Promise<unknown>)({})).toEqual(['hit'])
    expect(await engine.capability('today.now')?.({})).toBe('now')
  })

  it('declaredOnly registers the variables and stage keys and taps nothing', () => {
    const { engine } = engineWith()
    const before = engine.hooks.prompt.taps.length
    expect(engine.use(declaredOnly('Today', 1, manifest))).toBe(true)
    expect(engine.templateVars().has('today')).toBe(true)
    expect(Object.keys(engine.stageKeys())).toEqual(['today_format'])
    expect(engine.hooks.prompt.taps.length).toBe(before)
  })
})
