/** The plugin in a real engine, on scripted models: events, done.energy, the log. */
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { ChainFile } from '../../src/engine/config/index.js'
import { Engine } from '../../src/engine/engine.js'
import { EnergyPlugin, pinnedProfile } from '../../src/plugins/energy/EnergyPlugin.js'
import { readLog } from '../../src/plugins/energy/account.js'
import type { LooseEvent as RunEvent } from '../support/events.js'
import { ROOT } from '../support/cli.js'
import { scriptedModels } from '../support/scripted-model.js'

const SIZES: Record<string, number> = { quick: 1.3, deep: 4.7 }
const QUICK_DEEP: ChainFile = {
  name: 'quick-deep',
  answer: ['deep', 'quick'],
  stages: {
    quick: { model: 'quick', prompt: 'Briefly: {{query}}' },
    deep: { model: 'deep', prompt: 'Deeply: {{query}}', options: { num_ctx: 8192 } },
  },
} as ChainFile

function run(battery: string, opts: { profile?: string; memory?: boolean; forbid?: string[]; home?: string } = {}) {
  const home = opts.home ?? mkdtempSync(path.join(os.tmpdir(), 'mirador-energy-plugin-'))
  const engine = new Engine({
    cwd: ROOT,
    home,
    offline: true,
    memory: opts.memory ?? false,
    config: {},
    env: { MIRADOR_BATTERY: battery, ...(opts.profile ? { MIRADOR_PROFILE: opts.profile } : {}) },
    dirs: { chains: [], tools: [], profiles: [path.join(ROOT, 'profiles')] },
  })
  // the sizes the models plugin would give from the manifest
  engine.registerCapability('models.size', async (a) => ({ sizeGb: SIZES[(a as { model: string }).model] ?? null }))
  const { plugin, calls } = scriptedModels({
    quick: { tokens: ['a', 'b', 'c'] },
    deep: { tokens: ['d', 'e', 'f', 'g', 'h'] },
  })
  engine.use(plugin)
  const energy = new EnergyPlugin(opts.forbid ? { forbid: opts.forbid } : {})
  expect(engine.use(energy)).toBe(true)
  const events: RunEvent[] = []
  engine.hooks.event.tap('test', (e) => void events.push(structuredClone(e) as RunEvent))
  return engine
    .run({ chain: { name: 'quick-deep', value: QUICK_DEEP }, query: 'hi' })
    .then((result) => ({ result, events, calls, home }))
}

const of = (events: RunEvent[], type: string) => events.filter((e) => e.type === type)

describe('EnergyPlugin in the engine', () => {
  it('plugged in: performance, nothing changed, energy counted for both stages', async () => {
    const { events, calls } = await run('90,plugged')
    const profile = of(events, 'profile')
    expect(profile).toHaveLength(1)
    expect(profile[0]).toMatchObject({ name: 'performance', battery: 90, plugged: true, pinned: false, changes: [] })
    expect(calls.map((c) => c.model).sort()).toEqual(['deep', 'quick'])
    const done = of(events, 'done')[0]!
    const energy = done.energy as { joules: number; byModel: Record<string, { joules: number }>; profile: string }
    // quick: 1.3 × (0.2 × 3 + 0.02 × prompt chars); deep: 4.7 × (0.2 × 5 + 0.02 × …)
    expect(energy.profile).toBe('performance')
    expect(energy.byModel.quick!.joules).toBeCloseTo(1.3 * (0.2 * 3 + 0.02 * 'Briefly: hi'.length), 1)
    expect(energy.byModel.deep!.joules).toBeCloseTo(4.7 * (0.2 * 5 + 0.02 * 'Deeply: hi'.length), 1)
    expect((done.profile as { name: string }).name).toBe('performance')
    // the profile shapes the plan: its event comes right before the plan's
    const types = events.map((e) => e.type)
    expect(types.indexOf('profile')).toBe(types.indexOf('plan') - 1)
  })

  it('on battery: balanced substitutes deep → quick and caps num_ctx', async () => {
    const { events, calls } = await run('60,unplugged')
    expect(of(events, 'profile')[0]).toMatchObject({ name: 'balanced', battery: 60, plugged: false })
    expect(of(events, 'plan')[0]!.stages).toEqual([
      expect.objectContaining({ stage: 'quick', model: 'quick' }),
      expect.objectContaining({ stage: 'deep', model: 'quick' }),
    ])
    expect(calls.map((c) => c.model)).toEqual(['quick', 'quick'])
    expect(of(events, 'stage-start').map((e) => e.model)).toEqual(['quick', 'quick'])
  })

  it('battery low: survival drops deep, one stage at a time, energy ≤ 1/3 of performance', async () => {
    const low = await run('15,unplugged')
    const full = await run('100,plugged')
    expect(of(low.events, 'profile')[0]).toMatchObject({
      name: 'survival',
      battery: 15,
      plugged: false,
      changes: expect.arrayContaining([
        expect.objectContaining({ what: 'drop', stage: 'deep' }),
        { what: 'concurrency', to: 1 },
      ]),
    })
    expect(of(low.events, 'plan')[0]).toMatchObject({
      stages: [{ stage: 'quick', model: 'quick', after: [] }],
      concurrency: 1,
    })
    const j = (e: RunEvent[]) => (of(e, 'done')[0]!.energy as { joules: number }).joules
    expect(j(low.events)).toBeGreaterThan(0)
    expect(j(low.events)).toBeLessThanOrEqual(j(full.events) / 3)
    expect(low.result.memory).toBe(false)
  })

  it('a pin wins over the battery', async () => {
    const { events } = await run('100,plugged', { profile: 'survival' })
    expect(of(events, 'profile')[0]).toMatchObject({
      name: 'survival',
      pinned: true,
      reason: expect.stringMatching(/pinned/),
    })
  })

  it('an unknown pin is reported and the run goes on as written', async () => {
    const { events, calls } = await run('100,plugged', { profile: 'turbo' })
    expect(of(events, 'error')[0]).toMatchObject({
      code: 'PLUGIN_FAILED',
      message: expect.stringMatching(/no energy profile named "turbo".*balanced, performance, survival/),
    })
    expect(calls).toHaveLength(2)
  })

  it('no battery counts as plugged in', async () => {
    const { events } = await run('none')
    expect(of(events, 'profile')[0]).toMatchObject({
      name: 'performance',
      battery: null,
      plugged: true,
      reason: expect.stringMatching(/no battery/),
    })
  })

  it('config forbid drops a stage whatever the profile', async () => {
    const { calls } = await run('100,plugged', { forbid: ['deep'] })
    expect(calls.map((c) => c.model)).toEqual(['quick'])
  })

  it('logs each run to energy/log.jsonl, unless the user turned memory off', async () => {
    const a = await run('90,plugged', { memory: true })
    const entries = await readLog(a.home)
    expect(entries).toEqual([
      expect.objectContaining({ chain: 'quick-deep', profile: 'performance', runId: a.result.runId }),
    ])
    expect(entries[0]!.joules).toBe((of(a.events, 'done')[0]!.energy as { joules: number }).joules)
    // survival turns memory off for its runs, but the log holds no text: the run is logged
    const b = await run('10,unplugged', { memory: true })
    expect(b.result.memory).toBe(false)
    expect(await readLog(b.home)).toEqual([
      expect.objectContaining({ chain: 'quick-deep', profile: 'survival', runId: b.result.runId }),
    ])
    // the user's own --no-memory: nothing logged
    const c = await run('90,plugged', { memory: false })
    expect(await readLog(c.home)).toEqual([])
  })

  it('checkPin fails early for an unknown name', async () => {
    const pinned = (env: Record<string, string>, flags: Record<string, unknown> = {}) => {
      const engine = new Engine({
        cwd: ROOT,
        home: '/nonexistent',
        offline: true,
        memory: false,
        config: {},
        env,
        flags,
        dirs: { chains: [], tools: [], profiles: [path.join(ROOT, 'profiles')] },
      })
      const p = new EnergyPlugin()
      engine.use(p)
      return p
    }
    await expect(pinned({ MIRADOR_PROFILE: 'turbo' }).checkPin()).rejects.toThrow(
      /no energy profile named "turbo" \(MIRADOR_PROFILE\)/,
    )
    await expect(pinned({}, { profile: 'turbo' }).checkPin()).rejects.toThrow(/"turbo" \(--profile\)/)
    await expect(pinned({ MIRADOR_PROFILE: 'balanced' }).checkPin()).resolves.toBeUndefined()
  })

  it('options from config are validated', () => {
    expect(() => new EnergyPlugin(JSON.parse('{"forbid":"deep"}'))).toThrow(
      /plugin EnergyPlugin: options.forbid must be array/,
    )
    expect(() => new EnergyPlugin(JSON.parse('{"turbo":true}'))).toThrow(/\(turbo\)/)
  })

  it('pinnedProfile: flag, then MIRADOR_PROFILE, then config', () => {
    expect(pinnedProfile('a', { MIRADOR_PROFILE: 'b' }, { profile: 'c' })).toEqual({ name: 'a', from: '--profile' })
    expect(pinnedProfile(undefined, { MIRADOR_PROFILE: 'b' }, { profile: 'c' })).toEqual({
      name: 'b',
      from: 'MIRADOR_PROFILE',
    })
    expect(pinnedProfile(undefined, {}, { profile: 'c' })).toEqual({ name: 'c', from: 'profile: in config' })
    expect(pinnedProfile(undefined, {}, {})).toBeUndefined()
  })
})
