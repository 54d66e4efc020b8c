import { describe, expect, it } from '@jest/globals'
import { Engine } from '../../src/engine/engine.js'
import type { LooseEvent as RunEvent } from '../support/events.js'
import type { ChainFile } from '../../src/engine/config/index.js'
import { runtimeError, scriptedModels, type Script } from '../support/scripted-model.js'

function setupEngine(scripts: Record<string, Script>) {
  const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: true, config: {} })
  const { plugin, calls } = scriptedModels(scripts)
  engine.use(plugin)
  const events: RunEvent[] = []
  engine.hooks.event.tap('Collect', (e) => void events.push(e as RunEvent))
  return { engine, calls, events }
}

const words = (n: number, w = 'w') => Array.from({ length: n }, (_, i) => ` ${w}${i}`)

const quickDeep: ChainFile = {
  stages: {
    quick: { model: 'fast', prompt: 'Q: {{query}}', confidence: 0.6 },
    deep: { model: 'slow', prompt: 'Think: {{query}}', confidence: 0.8 },
  },
  answer: ['deep', 'quick'],
}

describe('chain runner', () => {
  it('emits ack first, then plan, and ends with done carrying the preferred answer', async () => {
    const { engine, events } = setupEngine({ fast: { tokens: [' hi'] }, slow: { tokens: [' deep', ' answer'] } })
    const result = await engine.run({ chain: { name: 'qd', value: quickDeep }, query: 'why?' })
    expect(events[0]).toMatchObject({ type: 'ack', chain: 'qd' })
    expect(events[1]).toMatchObject({
      type: 'plan',
      stages: [
        { stage: 'quick', model: 'fast', after: [] },
        { stage: 'deep', model: 'slow', after: [] },
      ],
    })
    expect(events.at(-1)).toMatchObject({
      type: 'done',
      answer: ' deep answer',
      stage: 'deep',
      ok: true,
      tokens: 3,
      models: ['fast', 'slow'],
    })
    expect(result.answerStage).toBe('deep')
    for (const e of events) expect(e.runId).toBe(result.runId)
    const ts = events.map((e) => e.t)
    expect([...ts].sort((a, b) => a - b)).toEqual(ts)
  })

  it('runs independent stages at the same time', async () => {
    const { engine, calls } = setupEngine({
      fast: { tokens: words(5), delayMs: 20 },
      slow: { tokens: words(10), delayMs: 20 },
    })
    const t0 = performance.now()
    await engine.run({ chain: { name: 'qd', value: quickDeep }, query: 'q' })
    const wall = performance.now() - t0
    const [a, b] = calls
    expect(a!.start < b!.end! && b!.start < a!.end!).toBe(true) // overlap
    expect(wall).toBeLessThan(100 + 200 + 150) // far below the 300 ms sum of both
  })

  it('a stage that reads another waits for it and gets its output in the template', async () => {
    const { engine, calls } = setupEngine({ fast: { tokens: [' draft', ' text'] }, slow: { tokens: [' better'] } })
    const chain: ChainFile = {
      stages: {
        draft: { model: 'fast', prompt: 'D: {{query}}' },
        refine: { model: 'slow', prompt: 'Improve "{{stages.draft.output}}" for {{query}}' },
      },
    }
    const r = await engine.run({ chain: { name: 'dr', value: chain }, query: 'x' })
    expect(calls.map((c) => c.stage)).toEqual(['draft', 'refine'])
    expect(calls[1]!.prompt).toBe('Improve " draft text" for x')
    expect(calls[1]!.start).toBeGreaterThanOrEqual(calls[0]!.end!)
    expect(r.answer).toBe(' better')
  })

  it('keeps the quick answer when the deep stage fails, and reports the failure', async () => {
    const { engine, events } = setupEngine({
      fast: { tokens: [' ok'] },
      slow: { tokens: words(3), fail: runtimeError('deep broke'), failAfter: 1 },
    })
    const r = await engine.run({ chain: { name: 'qd', value: quickDeep }, query: 'q' })
    expect(events.find((e) => e.type === 'error')).toMatchObject({
      stage: 'deep',
      code: 'RUNTIME_FAILED',
      message: 'deep broke',
    })
    expect(r).toMatchObject({ ok: true, answer: ' ok', answerStage: 'quick' })
  })

  it('reports no answer when every stage fails', async () => {
    const { engine, events } = setupEngine({
      fast: { tokens: [], fail: runtimeError('a') },
      slow: { tokens: [], fail: runtimeError('b') },
    })
    const r = await engine.run({ chain: { name: 'qd', value: quickDeep }, query: 'q' })
    expect(r.ok).toBe(false)
    expect(events.filter((e) => e.type === 'error')).toHaveLength(2)
    expect(events.at(-1)).toMatchObject({ type: 'done', ok: false, answer: '', stage: null })
  })

  it('skips dependents of a failed stage', async () => {
    const { engine, events } = setupEngine({ fast: { tokens: [], fail: runtimeError() }, slow: { tokens: [' x'] } })
    const chain: ChainFile = {
      stages: { draft: { model: 'fast', prompt: 'a' }, refine: { model: 'slow', prompt: '{{stages.draft.output}}' } },
    }
    await engine.run({ chain: { name: 'c', value: chain }, query: 'q' })
    expect(events.find((e) => e.type === 'stage-skip')).toMatchObject({
      stage: 'refine',
      reason: expect.stringContaining('"draft", which failed'),
    })
  })

  it('confidence comes from logprobs when present, else the declared value', async () => {
    const { engine, events } = setupEngine({
      fast: { tokens: [' a', ' b'], logprob: Math.log(0.5) },
      slow: { tokens: [' c'] },
    })
    await engine.run({ chain: { name: 'qd', value: quickDeep }, query: 'q' })
    const ends = events.filter((e) => e.type === 'stage-end')
    expect(ends.find((e) => e.stage === 'quick')).toMatchObject({ confidence: 0.5, confidenceSource: 'logprobs' })
    expect(ends.find((e) => e.stage === 'deep')).toMatchObject({ confidence: 0.8, confidenceSource: 'declared' })
    expect(events.find((e) => e.type === 'token' && e.stage === 'quick')).toMatchObject({ confidence: 0.5 })
    expect(events.find((e) => e.type === 'token' && e.stage === 'deep')).toMatchObject({ confidence: 0.8 })
  })

  it('skip_when on a dependency skips the stage before it starts', async () => {
    const chain: ChainFile = {
      stages: {
        draft: { model: 'fast', prompt: 'a' },
        refine: {
          model: 'slow',
          prompt: '{{stages.draft.output}}',
          skip_when: { stage: 'draft', confidence_above: 0.85 },
        },
      },
    }
    const confident = setupEngine({ fast: { tokens: [' sure'], logprob: Math.log(0.95) }, slow: { tokens: [' x'] } })
    const r = await confident.engine.run({ chain: { name: 'c', value: chain }, query: 'q' })
    expect(confident.calls.map((c) => c.stage)).toEqual(['draft'])
    expect(r.answerStage).toBe('draft')
    expect(confident.events.find((e) => e.type === 'stage-skip')).toMatchObject({
      stage: 'refine',
      reason: expect.stringContaining('0.95 > 0.85'),
    })
    const unsure = setupEngine({ fast: { tokens: [' hm'], logprob: Math.log(0.5) }, slow: { tokens: [' x'] } })
    await unsure.engine.run({ chain: { name: 'c', value: chain }, query: 'q' })
    expect(unsure.calls.map((c) => c.stage)).toEqual(['draft', 'refine'])
  })

  it('skip_when on a concurrent stage cancels it once the other ends confident', async () => {
    const chain: ChainFile = {
      stages: {
        quick: { model: 'fast', prompt: 'a' },
        deep: { model: 'slow', prompt: 'b', skip_when: { stage: 'quick', confidence_above: 0.85 } },
      },
      answer: ['deep', 'quick'],
    }
    const { engine, calls, events } = setupEngine({
      fast: { tokens: [' sure'], logprob: Math.log(0.9), delayMs: 10 },
      slow: { tokens: words(100), delayMs: 10 },
    })
    const t0 = performance.now()
    const r = await engine.run({ chain: { name: 'c', value: chain }, query: 'q' })
    expect(performance.now() - t0).toBeLessThan(600) // not the 1 s deep would take
    expect(calls.find((c) => c.stage === 'deep')!.aborted).toBe(true)
    expect(events.find((e) => e.type === 'stage-skip')).toMatchObject({ stage: 'deep' })
    expect(events.some((e) => e.type === 'error')).toBe(false)
    expect(r.answerStage).toBe('quick')
  })

  it('a plan tap can drop a stage and limit concurrency', async () => {
    const { engine, calls, events } = setupEngine({
      fast: { tokens: [' a'], delayMs: 5 },
      slow: { tokens: [' b'], delayMs: 5 },
    })
    engine.hooks.plan.tap('Dropper', (plan) => {
      delete plan.stages.deep
      plan.concurrency = 1
      return plan
    })
    const r = await engine.run({ chain: { name: 'qd', value: quickDeep }, query: 'q' })
    expect(calls.map((c) => c.stage)).toEqual(['quick'])
    expect(events.find((e) => e.type === 'plan')).toMatchObject({ concurrency: 1, stages: [{ stage: 'quick' }] })
    expect(r.answerStage).toBe('quick')
  })

  it('aborting the run ends it promptly with ABORTED errors', async () => {
    const { engine, events } = setupEngine({
      fast: { tokens: words(200), delayMs: 10 },
      slow: { tokens: words(200), delayMs: 10 },
    })
    const controller = new AbortController()
    setTimeout(() => controller.abort(), 50)
    const t0 = performance.now()
    const r = await engine.run({ chain: { name: 'qd', value: quickDeep }, query: 'q', signal: controller.signal })
    expect(performance.now() - t0).toBeLessThan(500)
    expect(r.ok).toBe(false)
    expect(events.filter((e) => e.type === 'error').map((e) => e.code)).toEqual(['ABORTED', 'ABORTED'])
  })

  it('a stage whose model nobody provides fails with MODEL_UNRESOLVED', async () => {
    const { engine, events } = setupEngine({ fast: { tokens: [' a'] } })
    await engine.run({ chain: { name: 'qd', value: quickDeep }, query: 'q' })
    expect(events.find((e) => e.type === 'error')).toMatchObject({
      stage: 'deep',
      code: 'MODEL_UNRESOLVED',
      message: expect.stringContaining('"slow"'),
    })
  })

  it('stage timeout_ms ends a slow stage with RUNTIME_TIMEOUT', async () => {
    const { engine, events } = setupEngine({ slow: { tokens: words(100), delayMs: 20 } })
    const chain: ChainFile = { stages: { only: { model: 'slow', prompt: 'x', timeout_ms: 100 } } }
    await engine.run({ chain: { name: 'c', value: chain }, query: 'q' })
    expect(events.find((e) => e.type === 'error')).toMatchObject({ code: 'RUNTIME_TIMEOUT', stage: 'only' })
  })

  it("a stage's format reaches the runtime in its request; the answer is checked whatever it did", async () => {
    const schema = { type: 'object', required: ['n'], properties: { n: { type: 'number' } } }
    const { engine, calls, events } = setupEngine({
      fast: { tokens: ['{"n"', ': 1}'] },
      // a runtime that ignores the format
      slow: { tokens: [' prose'] },
    })
    const chain: ChainFile = {
      stages: {
        quick: { model: 'fast', prompt: 'q', format: { schema } },
        deep: { model: 'slow', prompt: 'q', format: 'json' },
      },
      answer: ['deep', 'quick'],
    }
    const result = await engine.run({ chain: { name: 'f', value: chain }, query: 'q' })
    expect(Object.fromEntries(calls.map((c) => [c.stage, c.format]))).toEqual({ quick: schema, deep: 'json' })
    expect(events.filter((e) => e.type === 'error')).toEqual([
      expect.objectContaining({ stage: 'deep', code: 'STAGE_FORMAT' }),
    ])
    expect(events.at(-1)).toMatchObject({ type: 'done', stage: 'quick', value: { n: 1 }, ok: true })
    expect(result.stages.find((s) => s.stage === 'quick')!.value).toEqual({ n: 1 })
  })
})
