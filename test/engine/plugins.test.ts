import { describe, expect, it } from '@jest/globals'
import { Engine } from '../../src/engine/engine.js'
import type { LooseEvent as RunEvent } from '../support/events.js'
import type { ChainFile } from '../../src/engine/config/index.js'
import { instantiate } from '../../src/engine/plugins.js'
import { MiradorError } from '../../src/engine/errors.js'
import { scriptedModels } from '../support/scripted-model.js'

const chain: ChainFile = { stages: { only: { model: 'm', prompt: 'Today is {{today}}. {{query}}' } } }

function engineWith() {
  const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: true, config: {} })
  const models = scriptedModels({ m: { tokens: [' ok'] } })
  engine.use(models.plugin)
  const events: RunEvent[] = []
  engine.hooks.event.tap('Collect', (e) => void events.push(e as RunEvent))
  return { engine, events, calls: models.calls }
}

describe('plugins', () => {
  it('hooks are one frozen object', () => {
    const { engine } = engineWith()
    expect(Object.isFrozen(engine.hooks)).toBe(true)
    expect(Object.keys(engine.hooks).sort()).toEqual([
      'event',
      'feedback',
      'forget',
      'model',
      'plan',
      'priors',
      'prompt',
      'route',
      'runDone',
      'stageDone',
      'toolCall',
      'tools',
    ])
  })

  it('a prompt tap can add template variables', async () => {
    const { engine, calls } = engineWith()
    engine.use({
      name: 'Today',
      apiVersion: 1,
      apply: (e) => e.hooks.prompt.tap('Today', (p) => ({ ...p, vars: { ...p.vars, today: '2026-11-27' } })),
    })
    await engine.run({ chain: { name: 'c', value: chain }, query: 'hi' })
    expect(calls[0]!.prompt).toBe('Today is 2026-11-27. hi')
  })

  it('a plugin that throws in apply is reported by name and its taps are off', async () => {
    const { engine, events, calls } = engineWith()
    const ok = engine.use({
      name: 'Broken',
      apiVersion: 1,
      apply(e) {
        e.hooks.prompt.tap('Broken', (p) => ({ ...p, template: 'HIJACKED' }))
        throw new Error('cannot start')
      },
    })
    expect(ok).toBe(false)
    const r = await engine.run({ chain: { name: 'c', value: chain }, query: 'hi' })
    expect(r.ok).toBe(true)
    expect(calls[0]!.prompt).toBe('Today is . hi')
    expect(events.find((e) => e.type === 'error')).toMatchObject({
      code: 'PLUGIN_FAILED',
      plugin: 'Broken',
      message: expect.stringContaining('cannot start'),
    })
  })

  it('a plugin that registers a stage key another plugin owns is reported by name', () => {
    const { engine } = engineWith()
    expect(
      engine.use({ name: 'A', apiVersion: 1, apply: (e) => e.registerStageKeys({ mood: { type: 'string' } }) }),
    ).toBe(true)
    expect(
      engine.use({ name: 'B', apiVersion: 1, apply: (e) => e.registerStageKeys({ mood: { type: 'number' } }) }),
    ).toBe(false)
    expect(engine.pluginErrors[0]).toMatchObject({
      details: { plugin: 'B' },
      message: expect.stringMatching(/^plugin B failed .*"mood" is already registered by plugin A/),
    })
    expect(engine.stageKeys()).toEqual({ mood: { type: 'string' } })
  })

  it('an unsupported apiVersion is refused with PLUGIN_API', () => {
    const { engine } = engineWith()
    expect(engine.use({ name: 'Future', apiVersion: 2, apply() {} })).toBe(false)
    expect(engine.pluginErrors[0]).toMatchObject({
      code: 'PLUGIN_API',
      message: expect.stringContaining('Future declares apiVersion 2'),
    })
  })

  it('a tap that throws during a run is reported once and the run goes on', async () => {
    const { engine, events } = engineWith()
    engine.use({
      name: 'Flaky',
      apiVersion: 1,
      apply: (e) =>
        e.hooks.event.tap('Flaky', () => {
          throw new Error('render bug')
        }),
    })
    const r = await engine.run({ chain: { name: 'c', value: chain }, query: 'hi' })
    expect(r.ok).toBe(true)
    await new Promise((res) => setImmediate(res))
    const errs = events.filter((e) => e.type === 'error')
    expect(errs).toHaveLength(1)
    expect(errs[0]).toMatchObject({
      plugin: 'Flaky',
      code: 'PLUGIN_FAILED',
      message: expect.stringContaining('event hook'),
    })
  })

  it('a MiradorError from a model tap fails the stage with its own code, not as a broken plugin', async () => {
    const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: true, config: {} })
    const events: RunEvent[] = []
    engine.hooks.event.tap('Collect', (e) => void events.push(e as RunEvent))
    engine.use({
      name: 'Models',
      apiVersion: 1,
      apply: (e) =>
        e.hooks.model.tapPromise('Models', async () => {
          throw new MiradorError('MODEL_MISSING', 'model m is not here; run `ollama pull m`')
        }),
    })
    const r = await engine.run({ chain: { name: 'c', value: chain }, query: 'hi' })
    expect(r.ok).toBe(false)
    expect(events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({
        stage: 'only',
        code: 'MODEL_MISSING',
        message: 'model m is not here; run `ollama pull m`',
      }),
    ])
  })

  it('instantiates classes, factories and plain objects, passing options', () => {
    class K {
      name = 'K'
      apiVersion = 1
      constructor(public o: unknown) {}
      apply() {}
    }
    expect(instantiate(K, { a: 1 }, 'k')).toHaveProperty('o', { a: 1 })
    expect(instantiate((o: unknown) => ({ name: 'F', apiVersion: 1, o, apply() {} }), 5, 'f')).toMatchObject({
      name: 'F',
      o: 5,
    })
    expect(() => instantiate({ name: 'X', apply: 3 }, undefined, 'x')).toThrow(/does not export a plugin/)
  })
})
