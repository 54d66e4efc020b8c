/**
 * One event channel: every event of a run goes through the `event` hook, from `ack` to `done`, and
 * `done` is the last: after the runDone taps, whatever they say or however they fail.
 */
import { describe, expect, it } from '@jest/globals'
import type { ChainFile } from '../../src/engine/config/index.js'
import { Engine, type ChainCatalog } from '../../src/engine/engine.js'
import { MiradorError } from '../../src/engine/errors.js'
import type { ChainDef } from '../../src/engine/types.js'
import type { LooseEvent as RunEvent } from '../support/events.js'
import { scriptedModels } from '../support/scripted-model.js'

const single: ChainFile = { stages: { s: { model: 'm', prompt: 'Q: {{query}}' } } }
const other: ChainFile = { stages: { o: { model: 'm', prompt: 'Other: {{query}}' } } }

function setup(catalog?: ChainCatalog) {
  const engine = new Engine({
    cwd: process.cwd(),
    home: '/nonexistent',
    offline: true,
    memory: false,
    config: {},
    ...(catalog ? { catalog } : {}),
  })
  const models = scriptedModels({ m: { tokens: [' a', ' b'] } })
  engine.use(models.plugin)
  const events: RunEvent[] = []
  engine.hooks.event.tap('Collect', (e) => void events.push(structuredClone(e) as RunEvent))
  return { engine, events, calls: models.calls }
}

const types = (events: RunEvent[]) => events.map((e) => e.type)

describe('one event channel', () => {
  it('done comes after the runDone taps, and what they emit comes before it', async () => {
    const { engine, events } = setup()
    engine.hooks.runDone.tapPromise('Remember', async (result, ctx) => {
      await new Promise((r) => setTimeout(r, 20))
      ctx.emit({ type: 'remembered', answer: result.answer })
    })
    await engine.run({ chain: { name: 'single', value: single }, query: 'hi' })
    expect(types(events).slice(-2)).toEqual(['remembered', 'done'])
    expect(events.at(-2)).toMatchObject({ answer: ' a b' })
  })

  it('a failing runDone tap is reported before done, not after', async () => {
    const { engine, events } = setup()
    engine.hooks.runDone.tapPromise('Broken', async () => {
      throw new Error('disk full')
    })
    const result = await engine.run({ chain: { name: 'single', value: single }, query: 'hi' })
    expect(result.ok).toBe(true)
    expect(types(events).slice(-2)).toEqual(['error', 'done'])
    expect(events.at(-2)).toMatchObject({ code: 'PLUGIN_FAILED', plugin: 'Broken' })
  })

  it('nothing is emitted after done', async () => {
    const { engine, events } = setup()
    let late: (() => void) | undefined
    engine.hooks.runDone.tap('Late', (_result, ctx) => {
      late = () => ctx.emit({ type: 'too-late' })
    })
    await engine.run({ chain: { name: 'single', value: single }, query: 'hi' })
    late!()
    expect(events.at(-1)!.type).toBe('done')
    expect(types(events)).not.toContain('too-late')
  })

  it('plan taps can emit and log; so can every stage hook', async () => {
    const { engine, events } = setup()
    engine.hooks.plan.tap('Shaper', (plan, ctx) => {
      ctx.emit({ type: 'shaped', stages: Object.keys(plan.stages) })
      ctx.log('plan seen', { level: 'warn', plugin: 'Shaper' })
      return plan
    })
    engine.hooks.prompt.tap('Prompter', (prompt, ctx) => {
      ctx.log(`prompt for ${ctx.stage}`)
      return prompt
    })
    await engine.run({ chain: { name: 'single', value: single }, query: 'hi' })
    const t = types(events)
    expect(t.indexOf('shaped')).toBeLessThan(t.indexOf('plan'))
    expect(events.filter((e) => e.type === 'log')).toEqual([
      expect.objectContaining({ level: 'warn', message: 'plan seen', plugin: 'Shaper' }),
      expect.objectContaining({ level: 'info', message: 'prompt for s' }),
    ])
  })

  it('chain "auto" is answered by the route hook; its events and query type reach runDone', async () => {
    const { engine, events, calls } = setup()
    const chosen: ChainDef = { name: 'other', file: '/chains/other.yaml', value: other }
    engine.hooks.route.tapPromise('Router', async (request, ctx) => {
      ctx.emit({ type: 'route', chain: 'other', query: request.query })
      return { chain: chosen, queryType: 'planning' }
    })
    let seen: { file?: string; queryType?: string; chain: string } | undefined
    engine.hooks.runDone.tap('Record', (r) => void (seen = r))
    const result = await engine.run({ chain: 'auto', query: 'plan my week' })
    expect(result.ok).toBe(true)
    expect(calls[0]!.prompt).toBe('Other: plan my week')
    expect(types(events).slice(0, 3)).toEqual(['ack', 'route', 'plan'])
    expect(events[0]).toMatchObject({ chain: 'auto' })
    expect(seen).toMatchObject({ chain: 'other', file: '/chains/other.yaml', queryType: 'planning' })
  })

  it('taps before the router may add to the request (a cost per chain)', async () => {
    const { engine } = setup()
    engine.hooks.route.tap({ name: 'Costs', stage: -10 }, (request) => {
      request.cost = async () => 42
      return undefined
    })
    let cost: number | undefined
    engine.hooks.route.tapPromise('Router', async (request) => {
      cost = await request.cost?.(single)
      return { chain: { name: 'single', value: single } }
    })
    await engine.run({ chain: 'auto', query: 'q' })
    expect(cost).toBe(42)
  })

  it('chain "auto" with no router ends with a clear error and done', async () => {
    const { engine, events } = setup()
    const result = await engine.run({ chain: 'auto', query: 'q' })
    expect(result.ok).toBe(false)
    expect(types(events)).toEqual(['ack', 'error', 'done'])
    expect(events[1]).toMatchObject({ code: 'USAGE', message: expect.stringMatching(/routes queries/) })
  })

  it("a router's MiradorError is the run's answer (no chain can run here), not a broken plugin", async () => {
    const { engine, events } = setup()
    engine.hooks.route.tapPromise('Router', async () => {
      throw new MiradorError('MODEL_UNRESOLVED', 'no chain can be picked for this question (x: no model)')
    })
    const result = await engine.run({ chain: 'auto', query: 'q' })
    expect(result.ok).toBe(false)
    expect(types(events)).toEqual(['ack', 'error', 'done'])
    expect(events[1]).toMatchObject({ code: 'MODEL_UNRESOLVED', message: expect.stringMatching(/no chain can be/) })
  })

  it('a chain by name comes from the catalog; a load failure is the run error, then done', async () => {
    const loaded: string[] = []
    const catalog: ChainCatalog = {
      list: async () => [],
      load: async (name) => {
        loaded.push(name)
        if (name === 'single') return { name: 'single', value: single }
        throw new MiradorError('CONFIG_NOT_FOUND', `no chain named "${name}"`)
      },
    }
    const { engine, events } = setup(catalog)
    expect((await engine.run({ chain: 'single', query: 'q' })).ok).toBe(true)
    events.length = 0
    const failed = await engine.run({ chain: 'chains/nope.yaml', query: 'q' })
    expect(failed.ok).toBe(false)
    expect(loaded).toEqual(['single', 'chains/nope.yaml'])
    expect(types(events)).toEqual(['ack', 'error', 'done'])
    expect(events[0]).toMatchObject({ chain: 'nope' })
    expect(events[1]).toMatchObject({ code: 'CONFIG_NOT_FOUND' })
  })

  it('an ack shown before the engine existed passes through the hook as it is, with its time', async () => {
    const { engine, events } = setup()
    const ack = { type: 'ack' as const, runId: 'r_early', chain: 'single', t: 3 }
    const seen: unknown[] = []
    engine.hooks.event.tap('Identity', (e) => void seen.push(e))
    await engine.run({ chain: { name: 'single', value: single }, query: 'q', ack })
    expect(seen[0]).toBe(ack)
    expect(events[0]).toEqual(ack)
    expect(new Set(events.map((e) => e.runId))).toEqual(new Set(['r_early']))
  })

  it('--show-prompt: each stage`s filled prompt as a prompt event, only when asked', async () => {
    const { engine, events } = setup()
    await engine.run({ chain: { name: 'single', value: single }, query: 'hi' })
    expect(types(events)).not.toContain('prompt')
    events.length = 0
    await engine.run({ chain: { name: 'single', value: single }, query: 'hi', showPrompt: true })
    expect(events.find((e) => e.type === 'prompt')).toMatchObject({ stage: 's', text: 'Q: hi' })
  })

  it('a template variable nothing fills is a TEMPLATE warning (once per stage); a declared one is not', async () => {
    const { engine, events } = setup()
    engine.registerTemplateVars(['mood'])
    const chain: ChainFile = {
      stages: { s: { model: 'm', prompt: '{{mood}} {{memroy}} {{query}} {{stages.x.output}} {{memroy}}' } },
    }
    await engine.run({ chain: { name: 'c', value: chain }, query: 'hi' })
    const warnings = events.filter((e) => e.type === 'log')
    expect(warnings).toEqual([
      expect.objectContaining({
        level: 'warn',
        code: 'TEMPLATE',
        stage: 's',
        message: expect.stringMatching(/^stage "s": \{\{memroy\}\} is filled by no plugin, so it renders empty/),
      }),
    ])
  })

  it('a stage counts the tokens its runtime reports (usage), else the pieces it streamed', async () => {
    const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: false, config: {} })
    engine.use(
      scriptedModels({ counted: { tokens: [' a', ' b'], usage: 7 }, uncounted: { tokens: [' a', ' b'], usage: 0 } })
        .plugin,
    )
    const chain: ChainFile = {
      stages: { c: { model: 'counted', prompt: 'x' }, u: { model: 'uncounted', prompt: 'y' } },
    }
    const r = await engine.run({ chain: { name: 'c', value: chain }, query: 'q' })
    expect(Object.fromEntries(r.stages.map((s) => [s.stage, s.tokens]))).toEqual({ c: 7, u: 2 })
    expect(r.tokens).toBe(9)
  })

  it('each token carries the stage confidence so far, ending where stage-end says', async () => {
    const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: false, config: {} })
    engine.use(scriptedModels({ m: { tokens: [' a', ' b', ' c'], logprob: Math.log(0.4) } }).plugin)
    const events: RunEvent[] = []
    engine.hooks.event.tap('Collect', (e) => void events.push(structuredClone(e) as RunEvent))
    await engine.run({ chain: { name: 'c', value: single }, query: 'q' })
    const tokens = events.filter((e) => e.type === 'token')
    expect(tokens.map((t) => [t.confidence, t.stageConfidence])).toEqual([
      [0.4, 0.4],
      [0.4, 0.4],
      [0.4, 0.4],
    ])
    expect(events.find((e) => e.type === 'stage-end')!.confidence).toBe(tokens.at(-1)!.stageConfidence)
  })
})
