/**
 * Tool calling through the Ollama runtime, against the test double with the real `ollama` client:
 * tools and earlier rounds go out in Ollama's shape, `message.tool_calls` come back as `tool-call`
 * parts, and arguments that are not a JSON object are a RUNTIME_PROTOCOL error (see tools.ts).
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { Ollama } from 'ollama'
import type {
  GenerateRequest,
  StreamPart,
  ToolCallRequest,
  ToolDefinition,
  ToolTurn,
} from '../../src/engine/runtime.js'
import { createOllama, type OllamaRuntime } from '../../src/runtimes/ollama/index.js'
import {
  defaultReply,
  startOllamaTestServer,
  tokenize,
  toolDirectives,
  toolResultReply,
  type ChatRequestBody,
  type OllamaTestServer,
  type TestToolCall,
} from '../support/ollama-server.js'
import { collect, ofType, onlyError, texts } from './helpers.js'

let server: OllamaTestServer
let rt: OllamaRuntime

beforeEach(async () => {
  server = await startOllamaTestServer({ models: [{ name: 'llama3.2:1b', size: 1_000_000 }] })
  rt = createOllama({ host: server.url })
})
afterEach(async () => {
  await rt.dispose?.()
  await server.close()
})

const WEATHER: ToolDefinition = {
  name: 'weather',
  description: 'The weather in a city now',
  parameters: { type: 'object', properties: { city: { type: 'string', description: 'a city' } }, required: ['city'] },
}
const CLOCK: ToolDefinition = {
  name: 'clock',
  description: 'The time now',
  parameters: { type: 'object', properties: {} },
}

const req = (over: Partial<GenerateRequest> = {}): GenerateRequest => ({
  model: 'llama3.2:1b',
  prompt: 'Hello',
  options: {},
  ...over,
})
const chatBodies = (): ChatRequestBody[] =>
  server.requests.filter((r) => r.path === '/api/chat').map((r) => r.body as ChatRequestBody)
const calls = (parts: StreamPart[]): ToolCallRequest[] => ofType(parts, 'tool-call').map((p) => p.call)

/** an Ollama that streams these chunks (for shapes the test double does not send) */
function fakeOllama(lines: object[]): OllamaRuntime {
  const fake: typeof fetch = async () =>
    new Response(lines.map((l) => JSON.stringify({ model: 'm', created_at: '', ...l })).join('\n') + '\n', {
      headers: { 'content-type': 'application/x-ndjson' },
    })
  return createOllama({ host: 'http://fake:1', fetch: fake })
}
const msg = (extra: object, content = ''): object => ({
  message: { role: 'assistant', content, ...extra },
  done: false,
})
const DONE = {
  message: { role: 'assistant', content: '' },
  done: true,
  done_reason: 'stop',
  eval_count: 4,
  prompt_eval_count: 9,
}

describe('the request', () => {
  test("tools reach Ollama in its shape: [{type: 'function', function: {name, description, parameters}}]", async () => {
    await collect(rt.generate(req({ tools: [WEATHER, CLOCK] })))
    expect(chatBodies()[0]!.tools).toEqual([
      {
        type: 'function',
        function: { name: 'weather', description: 'The weather in a city now', parameters: WEATHER.parameters },
      },
      {
        type: 'function',
        function: { name: 'clock', description: 'The time now', parameters: { type: 'object', properties: {} } },
      },
    ])
  })

  test('no tools, or an empty list: no `tools` key, and the reply is text', async () => {
    const parts = await collect(rt.generate(req({ tools: [] })))
    await collect(rt.generate(req()))
    for (const body of chatBodies()) expect('tools' in body).toBe(false)
    expect(texts(parts).join('')).toBe(defaultReply('llama3.2:1b', 'Hello'))
  })

  test('turns follow the prompt: assistant message + tool_calls, then each tool message with tool_name', async () => {
    const turns: ToolTurn[] = [
      {
        role: 'assistant',
        content: 'Let me look.',
        toolCalls: [
          { id: 'call_0', name: 'weather', arguments: { city: 'Paris' } },
          { id: 'call_1', name: 'clock', arguments: {} },
        ],
      },
      { role: 'tool', name: 'weather', callId: 'call_0', content: '{"temp":21}' },
      { role: 'tool', name: 'clock', callId: 'call_1', content: '"12:00"' },
    ]
    const parts = await collect(rt.generate(req({ system: 'Be brief.', tools: [WEATHER, CLOCK], turns })))
    expect(chatBodies()[0]!.messages).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hello' },
      {
        role: 'assistant',
        content: 'Let me look.',
        tool_calls: [
          { function: { name: 'weather', arguments: { city: 'Paris' } } },
          { function: { name: 'clock', arguments: {} } },
        ],
      },
      { role: 'tool', content: '{"temp":21}', tool_name: 'weather' },
      { role: 'tool', content: '"12:00"', tool_name: 'clock' },
    ])
    // the test double quotes the answers: they reached the model
    expect(texts(parts).join('')).toBe('The tool weather said: {"temp":21}. The tool clock said: "12:00".')
  })

  test('the last round (turns, no tools) sends the history without `tools`', async () => {
    const turns: ToolTurn[] = [
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_0', name: 'clock', arguments: {} }] },
      { role: 'tool', name: 'clock', callId: 'call_0', content: '"noon"' },
    ]
    const parts = await collect(rt.generate(req({ turns })))
    const body = chatBodies()[0]!
    expect('tools' in body).toBe(false)
    expect(body.messages.map((m) => m.role)).toEqual(['user', 'assistant', 'tool'])
    expect(texts(parts).join('')).toBe('The tool clock said: "noon".')
  })
})

describe('tool calls in the reply', () => {
  test('a CALL directive streams as one tool-call part (name, arguments, id), then finish stop', async () => {
    const parts = await collect(
      rt.generate(req({ prompt: 'Weather? CALL weather {"city": "Paris"}', tools: [WEATHER] })),
    )
    expect(parts).toEqual([
      { type: 'tool-call', call: { id: 'call_0', name: 'weather', arguments: { city: 'Paris' } } },
      {
        type: 'finish',
        reason: 'stop',
        usage: { promptTokens: expect.any(Number), completionTokens: expect.any(Number) },
      },
    ])
  })

  test('the full loop: call, answer, and the text after the tools quotes the answer', async () => {
    const prompt = 'CALL weather {"city": "Oslo"}'
    const first = await collect(rt.generate(req({ prompt, tools: [WEATHER] })))
    const [call] = calls(first)
    const turns: ToolTurn[] = [
      { role: 'assistant', content: texts(first).join(''), toolCalls: [call!] },
      { role: 'tool', name: call!.name, callId: call!.id, content: '{"temp":-3,"sky":"snow"}' },
    ]
    const second = await collect(rt.generate(req({ prompt, tools: [WEATHER], turns })))
    expect(calls(second)).toEqual([])
    expect(texts(second).join('')).toBe(toolResultReply([{ name: 'weather', content: '{"temp":-3,"sky":"snow"}' }]))
    expect(second[second.length - 1]).toMatchObject({ type: 'finish', reason: 'stop' })
    const [, again] = chatBodies()
    expect(again!.messages.slice(1)).toEqual([
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'weather', arguments: { city: 'Oslo' } } }] },
      { role: 'tool', content: '{"temp":-3,"sky":"snow"}', tool_name: 'weather' },
    ])
  })

  test('several calls in one reply: one part each, in order, with ids unique in the request', async () => {
    const prompt =
      'First CALL weather {"city": "Rome", "units": {"temp": "C"}} then CALL clock and CALL weather {"city": "Lima"}'
    const parts = await collect(rt.generate(req({ prompt, tools: [WEATHER, CLOCK] })))
    expect(calls(parts)).toEqual([
      { id: 'call_0', name: 'weather', arguments: { city: 'Rome', units: { temp: 'C' } } },
      { id: 'call_1', name: 'clock', arguments: {} },
      { id: 'call_2', name: 'weather', arguments: { city: 'Lima' } },
    ])
    expect(texts(parts)).toEqual([])
  })

  test('without tools, a CALL directive is just text: the usual reply', async () => {
    const prompt = 'CALL weather {"city": "Paris"}'
    const parts = await collect(rt.generate(req({ prompt })))
    expect(calls(parts)).toEqual([])
    expect(texts(parts).join('')).toBe(defaultReply('llama3.2:1b', prompt))
  })

  test('a directive naming a tool that is not offered, or with arguments that are not JSON, is text too', async () => {
    for (const prompt of ['CALL calculator {"x": 1}', 'CALL weather {"city": Paris}']) {
      const parts = await collect(rt.generate(req({ prompt, tools: [WEATHER] })))
      expect(calls(parts)).toEqual([])
      expect(texts(parts).join('')).toBe(defaultReply('llama3.2:1b', prompt))
    }
  })

  test('text and tool calls in one reply: the text deltas (with logprobs), then the calls', async () => {
    server.setOptions({ toolCallText: 'Let me check the weather.' })
    const parts = await collect(
      rt.generate(req({ prompt: 'CALL weather {"city":"Bern"}', tools: [WEATHER], logprobs: true })),
    )
    expect(parts.map((p) => p.type)).toEqual([
      ...tokenize('Let me check the weather.').map(() => 'text-delta'),
      'tool-call',
      'finish',
    ])
    expect(texts(parts).join('')).toBe('Let me check the weather.')
    for (const p of ofType(parts, 'text-delta')) expect(typeof p.logprob).toBe('number')
    expect(calls(parts)).toEqual([{ id: 'call_0', name: 'weather', arguments: { city: 'Bern' } }])
  })

  test("Ollama's own ids are kept; a repeated id is made unique; calls without one are numbered", async () => {
    server.setOptions({
      toolCalls: () => [
        { name: 'clock', arguments: {}, id: 'call_abc', index: 0 },
        { name: 'clock', arguments: {}, id: 'call_abc', index: 1 },
        { name: 'weather', arguments: { city: 'Kyiv' } },
      ],
    })
    const parts = await collect(rt.generate(req({ tools: [WEATHER, CLOCK] })))
    expect(calls(parts).map((c) => c.id)).toEqual(['call_abc', 'call_abc_2', 'call_2'])
  })

  test('calls spread over several chunks are numbered across the request', async () => {
    const parts = await collect(
      fakeOllama([
        msg({ tool_calls: [{ function: { name: 'clock', arguments: {} } }] }),
        msg({ tool_calls: [{ function: { name: 'weather', arguments: { city: 'Quito' } } }] }),
        DONE,
      ]).generate(req({ tools: [WEATHER, CLOCK] })),
    )
    expect(parts).toEqual([
      { type: 'tool-call', call: { id: 'call_0', name: 'clock', arguments: {} } },
      { type: 'tool-call', call: { id: 'call_1', name: 'weather', arguments: { city: 'Quito' } } },
      { type: 'finish', reason: 'stop', usage: { promptTokens: 9, completionTokens: 4 } },
    ])
  })

  test("a chunk's text comes before its calls; logprobs of a call chunk are not carried to later text", async () => {
    const parts = await collect(
      fakeOllama([
        {
          ...msg({ tool_calls: [{ function: { name: 'clock', arguments: {} } }] }, 'Checking.'),
          logprobs: [{ token: 'Checking.', logprob: -0.5 }],
        },
        {
          ...msg({ tool_calls: [{ function: { name: 'clock', arguments: {} } }] }),
          logprobs: [{ token: '{', logprob: -1 }],
        },
        { ...msg({}, ' Done'), logprobs: [{ token: ' Done', logprob: -0.25 }] },
        DONE,
      ]).generate(req({ tools: [CLOCK], logprobs: true })),
    )
    expect(parts.slice(0, 4)).toEqual([
      { type: 'text-delta', text: 'Checking.', logprob: -0.5 },
      { type: 'tool-call', call: { id: 'call_0', name: 'clock', arguments: {} } },
      { type: 'tool-call', call: { id: 'call_1', name: 'clock', arguments: {} } },
      { type: 'text-delta', text: ' Done', logprob: -0.25 },
    ])
  })
})

describe('arguments', () => {
  test('a JSON string (as OpenAI-style servers send) is parsed; a blank string, null or none is {}', async () => {
    server.setOptions({
      toolCalls: () => [
        { name: 'weather', arguments: '{"city":"Lagos"}' },
        { name: 'clock', arguments: '  ' },
      ],
    })
    const parts = await collect(rt.generate(req({ tools: [WEATHER, CLOCK] })))
    expect(calls(parts)).toEqual([
      { id: 'call_0', name: 'weather', arguments: { city: 'Lagos' } },
      { id: 'call_1', name: 'clock', arguments: {} },
    ])
    const more = await collect(
      fakeOllama([
        msg({ tool_calls: [{ function: { name: 'clock', arguments: null } }, { function: { name: 'clock' } }] }),
        DONE,
      ]).generate(req({ tools: [CLOCK] })),
    )
    expect(calls(more).map((c) => c.arguments)).toEqual([{}, {}])
  })

  test.each([
    ['a string that is not JSON', '{"city": Paris', /arguments are not JSON: "\{\\"city\\": Paris"/],
    ['JSON that is not an object', '["Paris"]', /arguments are not a JSON object: "\[\\"Paris\\"\]"/],
    // not a type the test double takes (JSON.parse gives `any`): it sends it as it is
    ['a number', JSON.parse('42'), /arguments are not a JSON object: 42/],
  ])(
    'arguments that are %s → one RUNTIME_PROTOCOL error part, after the calls before it',
    async (_what, args, message) => {
      server.setOptions({
        toolCalls: () => [
          { name: 'clock', arguments: {} },
          { name: 'weather', arguments: args },
          { name: 'clock', arguments: {} },
        ],
      })
      const parts = await collect(rt.generate(req({ tools: [WEATHER, CLOCK] })))
      expect(calls(parts)).toEqual([{ id: 'call_0', name: 'clock', arguments: {} }])
      const err = onlyError(parts)
      expect(err.code).toBe('RUNTIME_PROTOCOL')
      expect(err.message).toMatch(message)
      expect(err.message).toMatch(/tool call to "weather"/)
      expect(err.message).toContain(`Ollama at ${server.url} sent`)
    },
  )

  test('a call without a function name → RUNTIME_PROTOCOL', async () => {
    const parts = await collect(
      fakeOllama([msg({ tool_calls: [{ function: { arguments: {} } }] }), DONE]).generate(req({ tools: [CLOCK] })),
    )
    expect(onlyError(parts)).toMatchObject({
      code: 'RUNTIME_PROTOCOL',
      message: expect.stringMatching(/a tool call without a function name/),
    })
  })
})

describe('the test double', () => {
  test('streams like Ollama: a chunk with message.tool_calls, then the done chunk (done_reason stop)', async () => {
    const client = new Ollama({ host: server.url })
    const chunks = []
    const stream = await client.chat({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: 'CALL weather {"city":"Paris"}' }],
      tools: [{ type: 'function', function: { name: 'weather', description: 'w', parameters: { type: 'object' } } }],
      stream: true,
    })
    for await (const c of stream) chunks.push(c)
    expect(chunks).toHaveLength(2)
    expect(chunks[0]!.message).toEqual({
      role: 'assistant',
      content: '',
      tool_calls: [{ function: { name: 'weather', arguments: { city: 'Paris' } } }],
    })
    expect(chunks[0]!.done).toBe(false)
    expect(chunks[1]).toMatchObject({ done: true, done_reason: 'stop', message: { role: 'assistant', content: '' } })
  })

  test('with stream: false, one object holds the calls', async () => {
    const client = new Ollama({ host: server.url })
    const res = await client.chat({
      model: 'llama3.2:1b',
      messages: [{ role: 'user', content: 'CALL clock' }],
      tools: [{ type: 'function', function: { name: 'clock', description: 'c', parameters: { type: 'object' } } }],
      stream: false,
    })
    expect(res).toMatchObject({
      done: true,
      done_reason: 'stop',
      message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'clock', arguments: {} } }] },
    })
  })

  test('toolCalls gets the request, only when tools are offered; [] means text, undefined the CALL rule', async () => {
    const seen: ChatRequestBody[] = []
    let answer: TestToolCall[] | undefined = []
    server.setOptions({
      toolCalls: (body) => {
        seen.push(body)
        return answer
      },
    })
    const prompt = 'CALL clock'
    await collect(rt.generate(req({ prompt })))
    expect(seen).toHaveLength(0)
    const text = await collect(rt.generate(req({ prompt, tools: [CLOCK] })))
    expect(seen).toHaveLength(1)
    expect(seen[0]!.tools?.map((t) => t.function?.name)).toEqual(['clock'])
    expect(calls(text)).toEqual([])
    expect(texts(text).join('')).toBe(defaultReply('llama3.2:1b', prompt))
    answer = undefined
    expect(calls(await collect(rt.generate(req({ prompt, tools: [CLOCK] }))))).toEqual([
      { id: 'call_0', name: 'clock', arguments: {} },
    ])
    server.setOptions({ toolCalls: undefined })
    expect(calls(await collect(rt.generate(req({ prompt, tools: [CLOCK] }))))).toHaveLength(1)
    expect(seen).toHaveLength(2)
  })

  test('the toolCalls option can call again after tools have answered (several rounds)', async () => {
    server.setOptions({
      toolCalls: (body) =>
        body.messages.filter((m) => m.role === 'tool').length < 2 ? [{ name: 'clock', arguments: {} }] : undefined,
    })
    const turns: ToolTurn[] = []
    let parts: StreamPart[] = []
    for (let round = 0; round < 4; round++) {
      parts = await collect(rt.generate(req({ tools: [CLOCK], turns: [...turns] })))
      const cs = calls(parts)
      if (cs.length === 0) break
      turns.push(
        { role: 'assistant', content: '', toolCalls: cs },
        ...cs.map(
          (c, k): ToolTurn => ({ role: 'tool', name: c.name, callId: c.id, content: `"t${turns.length + k}"` }),
        ),
      )
    }
    expect(chatBodies()).toHaveLength(3)
    expect(texts(parts).join('')).toBe('The tool clock said: "t0". The tool clock said: "t2".')
  })

  test('a drop before the tool-call line is a lost connection, as with tokens', async () => {
    server.setFault({ kind: 'drop-mid-stream', afterTokens: 0 })
    const parts = await collect(rt.generate(req({ prompt: 'CALL clock', tools: [CLOCK] })))
    expect(calls(parts)).toEqual([])
    expect(onlyError(parts).code).toBe('RUNTIME_FAILED')
  })

  test('toolDirectives reads names and JSON arguments (nested, with braces in strings), skipping bad ones', () => {
    expect(toolDirectives('CALL a {"x": "}{", "y": {"z": [1]}} CALL b CALL c {oops} CALL d {"k": 1')).toEqual([
      { name: 'a', arguments: { x: '}{', y: { z: [1] } } },
      { name: 'b', arguments: {} },
    ])
  })
})
