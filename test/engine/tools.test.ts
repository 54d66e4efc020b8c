import { describe, expect, it } from '@jest/globals'
import { Engine } from '../../src/engine/engine.js'
import type { ChainFile } from '../../src/engine/config/index.js'
import type { LooseEvent } from '../support/events.js'
import { scriptedModels, type Script } from '../support/scripted-model.js'

/** A tools plugin written inline: offers `add`, answers its calls. */
function adder(maxRounds = 4) {
  return {
    name: 'Adder',
    apiVersion: 1,
    apply(engine: Engine) {
      engine.hooks.tools.tap('Adder', (offer) => ({
        tools: [...offer.tools, { name: 'add', description: 'adds', parameters: { type: 'object' } }],
        maxRounds,
      }))
      engine.hooks.toolCall.tap('Adder', (call) =>
        call.name === 'add'
          ? { ok: true as const, value: { sum: Number(call.arguments.a) + Number(call.arguments.b) }, ms: 1 }
          : undefined,
      )
    },
  }
}

function setup(script: Script, maxRounds = 4) {
  const engine = new Engine({ cwd: process.cwd(), home: '/nonexistent', offline: true, memory: true, config: {} })
  const models = scriptedModels({ m: script })
  engine.use(models.plugin)
  engine.use(adder(maxRounds) as never)
  const events: LooseEvent[] = []
  engine.hooks.event.tap('Collect', (e) => void events.push(e as LooseEvent))
  const chain: ChainFile = { stages: { s: { model: 'm', prompt: 'add 2 and 3' } } }
  return { run: () => engine.run({ chain: { name: 'c', value: chain }, query: 'q' }), events, calls: models.calls }
}

describe('tool rounds in the runner', () => {
  it('offers tools, runs the calls, and generates again with the calls and answers', async () => {
    const { run, events, calls } = setup({ tokens: [' five'], callTools: [{ name: 'add', arguments: { a: 2, b: 3 } }] })
    const r = await run()
    expect(r.answer).toBe(' five')
    expect(calls).toHaveLength(2)
    expect(calls[0]!.tools).toEqual(['add'])
    expect(calls[1]!.turns).toEqual([
      { role: 'assistant', content: '', toolCalls: [{ id: '0.call_0', name: 'add', arguments: { a: 2, b: 3 } }] },
      { role: 'tool', name: 'add', callId: '0.call_0', content: '{"sum":5}' },
    ])
    expect(
      events.filter((e) => e.type === 'tool-call' || e.type === 'tool-result').map((e) => [e.type, e.name]),
    ).toEqual([
      ['tool-call', 'add'],
      ['tool-result', 'add'],
    ])
    expect(events.find((e) => e.type === 'tool-result')).toMatchObject({ ok: true, value: { sum: 5 } })
  })

  it('a call to a tool nobody answers goes back to the model as an error, and the run goes on', async () => {
    const { run, events, calls } = setup({
      tokens: [' sorry'],
      callTools: [{ name: 'delete_everything', arguments: {} }],
    })
    const r = await run()
    expect(r.ok).toBe(true)
    expect(events.find((e) => e.type === 'tool-result')).toMatchObject({ ok: false, code: 'TOOL_NOT_FOUND' })
    expect(calls[1]!.turns![1]).toMatchObject({ role: 'tool', content: expect.stringContaining('TOOL_NOT_FOUND') })
  })

  it('stops offering tools after the last round, so the model must answer', async () => {
    const { run, calls } = setup(
      { tokens: [' done'], callTools: [{ name: 'add', arguments: { a: 1, b: 1 } }], alwaysCallTools: true },
      2,
    )
    const r = await run()
    expect(r.answer).toBe(' done')
    expect(calls.map((c) => c.tools?.length ?? 0)).toEqual([1, 1, 0])
  })
})
