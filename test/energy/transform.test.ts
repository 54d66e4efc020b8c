import { describe, expect, it } from '@jest/globals'
import type { ProfileFile, Stage } from '../../src/engine/config/index.js'
import type { RunPlan } from '../../src/engine/types.js'
import { applyProfile, type Change } from '../../src/plugins/energy/transform.js'

const SIZES: Record<string, number> = { quick: 1.3, deep: 4.7, tiny: 0.5, huge: 40 }
const sizeOf = async (m: string) => SIZES[m]

function plan(stages: Record<string, Partial<Stage>>, answer?: string[]): RunPlan {
  const s: Record<string, Stage> = {}
  for (const [k, v] of Object.entries(stages)) s[k] = { model: 'quick', prompt: '{{query}}', ...v } as Stage
  return {
    runId: 'r_test',
    chain: 'c',
    query: 'q',
    stages: s,
    answer: answer ?? Object.keys(s).reverse(),
    concurrency: Number.POSITIVE_INFINITY,
    vars: {},
    memory: true,
    summary: {},
  }
}

const quickDeep = () =>
  plan({ quick: { model: 'quick' }, deep: { model: 'deep', options: { num_ctx: 8192 } } }, ['deep', 'quick'])
const draftRefine = () =>
  plan(
    {
      draft: { model: 'quick' },
      refine: {
        model: 'deep',
        prompt: 'Improve: {{stages.draft.output}}',
        skip_when: { stage: 'draft', confidence_above: 0.85 },
      },
    },
    ['refine', 'draft'],
  )

const models = (p: RunPlan) => Object.fromEntries(Object.entries(p.stages).map(([k, v]) => [k, v.model]))
const kinds = (c: Change[]) => c.map((x) => x.what)

describe('applyProfile', () => {
  it('no profile, no preferences: the plan is untouched', async () => {
    const p = quickDeep()
    const before = structuredClone(p)
    expect(await applyProfile(p, undefined, {}, sizeOf)).toEqual([])
    expect(p).toEqual(before)
  })

  it('substitutes models through the profile map', async () => {
    const p = quickDeep()
    const c = await applyProfile(p, { substitute: { deep: 'quick' } }, {}, sizeOf)
    expect(models(p)).toEqual({ quick: 'quick', deep: 'quick' })
    expect(c).toEqual([{ what: 'substitute', stage: 'deep', from: 'deep', to: 'quick', by: 'profile' }])
  })

  it('config prefer applies after the profile, forbid drops', async () => {
    const p = quickDeep()
    const c = await applyProfile(p, { substitute: { deep: 'quick' } }, { prefer: { quick: 'tiny' } }, sizeOf)
    expect(models(p)).toEqual({ quick: 'tiny', deep: 'tiny' })
    expect(c.filter((x) => x.what === 'substitute')).toHaveLength(3)
    const q = quickDeep()
    await applyProfile(q, undefined, { forbid: ['deep'] }, sizeOf)
    expect(Object.keys(q.stages)).toEqual(['quick'])
    expect(q.answer).toEqual(['quick'])
  })

  it('forbidden models are never brought back, even if no stage is left', async () => {
    const p = plan({ answer: { model: 'deep' } })
    const c = await applyProfile(p, { max_size_gb: 1 }, { forbid: ['deep'] }, sizeOf)
    expect(p.stages).toEqual({})
    expect(c).toEqual([
      expect.objectContaining({ what: 'drop', stage: 'answer', reason: expect.stringMatching(/forbidden/) }),
    ])
  })

  it('drops stages by name, and stages that read a dropped one', async () => {
    const p = draftRefine()
    await applyProfile(p, { drop_stages: ['draft'] }, {}, sizeOf)
    // refine reads {{stages.draft.output}}: it cannot run alone, so the smallest root stage is kept
    expect(Object.keys(p.stages)).toEqual(['draft'])
    const q = draftRefine()
    const c = await applyProfile(q, { drop_stages: ['refine', 'deep'] }, {}, sizeOf)
    expect(Object.keys(q.stages)).toEqual(['draft'])
    expect(q.answer).toEqual(['draft'])
    expect(kinds(c)).toEqual(['drop'])
  })

  it('max_size_gb drops larger models; unknown sizes pass', async () => {
    const p = plan({ a: { model: 'quick' }, b: { model: 'deep' }, c: { model: 'mystery:latest' } })
    const c = await applyProfile(p, { max_size_gb: 2 }, {}, sizeOf)
    expect(Object.keys(p.stages)).toEqual(['a', 'c'])
    expect(c).toEqual([
      expect.objectContaining({
        what: 'drop',
        stage: 'b',
        reason: 'model "deep" is 4.7 GB, over the profile\'s max_size_gb of 2',
      }),
    ])
  })

  it('max_size_gb with a substitution keeps the stage on the smaller model', async () => {
    const p = quickDeep()
    await applyProfile(p, { max_size_gb: 2, substitute: { deep: 'quick' } }, {}, sizeOf)
    expect(models(p)).toEqual({ quick: 'quick', deep: 'quick' })
  })

  it('the size cap never drops every stage: the smallest root stage stays', async () => {
    const p = plan({ big: { model: 'huge' }, mid: { model: 'deep' }, after: { model: 'deep', after: ['mid'] } })
    const c = await applyProfile(p, { max_size_gb: 1 }, {}, sizeOf)
    expect(Object.keys(p.stages)).toEqual(['mid'])
    expect(c.at(-1)).toEqual({ what: 'keep', stage: 'mid', model: 'deep', reason: expect.stringMatching(/smallest/) })
  })

  it('concurrency false runs one stage at a time', async () => {
    const p = quickDeep()
    expect(kinds(await applyProfile(p, { concurrency: false }, {}, sizeOf))).toEqual(['concurrency'])
    expect(p.concurrency).toBe(1)
    const q = quickDeep()
    await applyProfile(q, { concurrency: true }, {}, sizeOf)
    expect(q.concurrency).toBe(Number.POSITIVE_INFINITY)
  })

  it('num_ctx_max caps larger contexts, sets small caps on stages without one', async () => {
    const p = quickDeep()
    const c = await applyProfile(p, { num_ctx_max: 4096 }, {}, sizeOf)
    expect(p.stages.deep!.options).toEqual({ num_ctx: 4096 })
    expect(p.stages.quick!.options).toBeUndefined() // 4096 would not lower a default context
    expect(c).toEqual([{ what: 'num_ctx', stage: 'deep', from: 8192, to: 4096 }])
    const q = quickDeep()
    await applyProfile(q, { num_ctx_max: 2048 }, {}, sizeOf)
    expect(q.stages.quick!.options).toEqual({ num_ctx: 2048 })
    expect(q.stages.deep!.options).toEqual({ num_ctx: 2048 })
    const r = plan({ a: { options: { num_ctx: 1024, temperature: 0.2 } } })
    expect(await applyProfile(r, { num_ctx_max: 2048 }, {}, sizeOf)).toEqual([])
    expect(r.stages.a!.options).toEqual({ num_ctx: 1024, temperature: 0.2 })
  })

  it('keep_alive and memory', async () => {
    const p = quickDeep()
    const c = await applyProfile(p, { keep_alive: '30s', memory: 'off' }, {}, sizeOf)
    expect(p.keepAlive).toBe('30s')
    expect(p.memory).toBe(false)
    expect(kinds(c)).toEqual(['keep_alive', 'memory'])
    // memory: on never turns on what the user turned off
    const q = quickDeep()
    q.memory = false
    await applyProfile(q, { memory: 'on' }, {}, sizeOf)
    expect(q.memory).toBe(false)
  })

  it('the shipped survival profile on the three shipped chain shapes', async () => {
    const survival: ProfileFile = {
      drop_stages: ['deep', 'refine'],
      substitute: { deep: 'quick' },
      max_size_gb: 2,
      concurrency: false,
      num_ctx_max: 2048,
      keep_alive: '30s',
      memory: 'off',
    }
    const qd = quickDeep()
    await applyProfile(qd, survival, {}, sizeOf)
    expect(models(qd)).toEqual({ quick: 'quick' })
    const dr = draftRefine()
    await applyProfile(dr, survival, {}, sizeOf)
    expect(models(dr)).toEqual({ draft: 'quick' })
    const single = plan({ answer: { model: 'deep' } })
    await applyProfile(single, survival, {}, sizeOf)
    expect(models(single)).toEqual({ answer: 'quick' })
  })
})
