/**
 * Chat generation on the real stories260K GGUF: the request goes through the model's chat template
 * (node-llama-cpp picks Llama2Chat for this model, which has no template in its metadata), tokens
 * keep their confidence, the usual limits hold, and tools go through node-llama-cpp's function
 * calling. What the model was fed is read back from the prompt trace (trace.ts).
 */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { GenerateRequest, Runtime, ToolDefinition } from '../../src/engine/runtime.js'
import { createLlamaCpp } from '../../src/runtimes/llamacpp/index.js'
import { collect, deltas, finishOf, textOf } from './helpers.js'
import { TEST_GGUF, describeGguf } from '../support/test-gguf.js'

let dir: string
let trace: string
let chat: Runtime
let chatml: Runtime
let forced: Runtime

interface TraceLine {
  wrapper: string
  tools: string[]
  round: number
  tokens: number
  prompt: string
}
const traced = (): TraceLine[] =>
  readFileSync(trace, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TraceLine)

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'mirador-chat-'))
  trace = path.join(dir, 'trace.jsonl')
  chat = createLlamaCpp({ threads: 1, trace })
  chatml = createLlamaCpp({ threads: 1, trace, chatWrapper: 'chatML' })
  forced = createLlamaCpp({ threads: 1, trace, forceToolCall: true })
})

afterAll(async () => {
  await Promise.all([chat, chatml, forced].map((r) => r.dispose?.()))
  rmSync(dir, { recursive: true, force: true })
})

const greedy = (extra: Partial<GenerateRequest> = {}, options: GenerateRequest['options'] = {}): GenerateRequest => ({
  model: TEST_GGUF,
  prompt: 'Once upon a time',
  ...extra,
  options: { temperature: 0, max_tokens: 24, ...options },
})

const SECRET: ToolDefinition = {
  name: 'secret',
  description: 'Tells the secret word.',
  parameters: { type: 'object', properties: {} },
}
const SHOUT: ToolDefinition = {
  name: 'shout',
  description: 'Upper-cases text.',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
}

describeGguf('llama.cpp chat (real GGUF)', () => {
  test("the prompt reaches the model in its chat template (Llama2Chat, from node-llama-cpp's choice)", async () => {
    const parts = await collect(chat, greedy({ system: 'You tell stories.' }))
    expect(parts.filter((p) => p.type === 'error')).toEqual([])
    const [line] = traced().slice(-1)
    expect(line).toMatchObject({ wrapper: 'Llama2Chat', tools: [], round: 0 })
    expect(line!.prompt).toMatch(
      /^<s> ?\[INST\] <<SYS>>\nYou tell stories\. ?\n<<\/SYS>>\n\nOnce upon a time +\[\/INST\] $/,
    )
    // the runtime reports the prompt it fed
    expect(finishOf(parts).usage.promptTokens).toBe(line!.tokens)
  })

  test('greedy chat output is deterministic, not the raw continuation, and streams token by token', async () => {
    const a = await collect(chat, greedy())
    const b = await collect(chat, greedy())
    expect(textOf(a)).toBe(textOf(b))
    expect(textOf(a).length).toBeGreaterThan(0)
    expect(textOf(a).startsWith(', there was a little girl')).toBe(false)
    expect(deltas(a).length).toBeGreaterThan(10)
  })

  test('with logprobs, every text-delta carries a finite logprob <= 0', async () => {
    const parts = await collect(chat, greedy({ logprobs: true }))
    const ds = deltas(parts)
    expect(ds.length).toBeGreaterThan(10)
    for (const d of ds) {
      expect(Number.isFinite(d.logprob)).toBe(true)
      expect(d.logprob!).toBeLessThanOrEqual(0)
    }
    // not all certain: these are the model's own probabilities
    expect(ds.some((d) => Math.exp(d.logprob!) < 0.9)).toBe(true)
    const none = await collect(chat, greedy({}, { max_tokens: 5 }))
    expect(deltas(none).every((d) => d.logprob === undefined)).toBe(true)
  })

  test('sampling with a seed is reproducible; another seed changes it', async () => {
    const req = (seed: number) => greedy({}, { temperature: 1, top_k: 40, top_p: 0.95, seed, max_tokens: 30 })
    const a = textOf(await collect(chat, req(42)))
    expect(textOf(await collect(chat, req(42)))).toBe(a)
    expect(a.length).toBeGreaterThan(0)
    const others = await Promise.all([7, 8, 9].map(async (s) => textOf(await collect(chat, req(s)))))
    expect(others.some((o) => o !== a)).toBe(true)
  })

  test.each([0, 1, 7, 33])('max_tokens %i is honoured exactly', async (n) => {
    const parts = await collect(chat, greedy({}, { max_tokens: n }))
    const finish = finishOf(parts)
    expect(finish.reason).toBe('length')
    expect(finish.usage.completionTokens).toBe(n)
    if (n === 0) expect(deltas(parts)).toHaveLength(0)
  })

  test('a stop string ends the generation and is not emitted', async () => {
    const full = textOf(await collect(chat, greedy({}, { max_tokens: 40 })))
    const word = full.trim().split(/\s+/)[2]!
    const parts = await collect(chat, greedy({}, { max_tokens: 40, stop: [word] }))
    expect(textOf(parts)).toBe(full.slice(0, full.indexOf(word)))
    expect(finishOf(parts).reason).toBe('stop')
  })

  test('abort mid-stream ends promptly with finish reason "abort"; the runtime goes on', async () => {
    const controller = new AbortController()
    const parts = []
    for await (const part of chat.generate(greedy({ signal: controller.signal }, { max_tokens: 1000 }))) {
      parts.push(part)
      if (deltas(parts).length === 3) controller.abort()
    }
    expect(finishOf(parts).reason).toBe('abort')
    expect(deltas(parts)).toHaveLength(3)
    expect(textOf(await collect(chat, greedy()))).toBe(textOf(await collect(chat, greedy())))
  })

  test('a chat too long for the context is an error part naming the window', async () => {
    const parts = await collect(chat, greedy({ prompt: 'Once upon a time '.repeat(20) }, { num_ctx: 32 }))
    expect(parts).toHaveLength(1)
    const [p] = parts
    expect(p?.type === 'error' && p.error.message).toMatch(/context window .* is 32 tokens/)
    // tools are described in the prompt: the message says so
    const [t] = await collect(chat, greedy({ tools: [SECRET] }, { num_ctx: 256 }))
    expect(t?.type === 'error' && t.error.message).toMatch(
      /with the description of the 1 tool offered\) .* shorten the prompt or offer fewer tools or raise num_ctx/,
    )
  })

  test('chatWrapper forces another template', async () => {
    const parts = await collect(chatml, greedy({ system: 'You tell stories.' }))
    expect(parts.filter((p) => p.type === 'error')).toEqual([])
    const [line] = traced().slice(-1)
    expect(line!.wrapper).toBe('ChatML')
    // (detokenized with this model's vocabulary, a space may show before a special token)
    expect(line!.prompt).toMatch(/<\|im_start\|>system\nYou tell stories\. ?<\|im_end\|>/)
    expect(line!.prompt).toMatch(/<\|im_start\|>user\nOnce upon a time ?<\|im_end\|>\n<\|im_start\|>assistant\n$/)
    expect(() => createLlamaCpp({ chatWrapper: JSON.parse('"llama9"') })).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('chatML') }),
    )
  })

  test('offered tools are documented to the model; this small model answers in text on its own', async () => {
    const parts = await collect(chat, greedy({ tools: [SECRET] }))
    expect(parts.filter((p) => p.type === 'tool-call')).toEqual([])
    const [line] = traced().slice(-1)
    expect(line!.tools).toEqual(['secret'])
    expect(line!.prompt).toContain('// Tells the secret word.\nfunction secret(')
  })

  test('a (forced) function call is a tool-call part; its result goes back into the chat', async () => {
    // room for the call: its name and arguments are tokens too (cut short, there is no call)
    const first = await collect(forced, greedy({ tools: [SECRET, SHOUT] }, { max_tokens: 100 }))
    const calls = first.filter((p) => p.type === 'tool-call')
    expect(calls).toHaveLength(1)
    const call = calls[0]!.type === 'tool-call' ? calls[0]!.call : undefined
    expect(call).toMatchObject({ id: 'call_0', name: expect.stringMatching(/^(secret|shout)$/) })
    // the arguments were generated under the grammar of the tool's schema
    if (call!.name === 'shout') expect(call!.arguments).toEqual({ text: expect.any(String) })
    else expect(call!.arguments).toEqual({})
    expect(finishOf(first).reason).toBe('stop')
    expect(finishOf(first).usage.completionTokens).toBeGreaterThan(0)

    const second = await collect(
      forced,
      greedy({
        tools: [SECRET, SHOUT],
        turns: [
          { role: 'assistant', content: '', toolCalls: [call!] },
          { role: 'tool', name: call!.name, callId: call!.id, content: '{"word":"PINEAPPLE"}' },
        ],
      }),
    )
    // later rounds are not forced: the model answers
    expect(second.filter((p) => p.type === 'tool-call')).toEqual([])
    expect(textOf(second).length).toBeGreaterThan(0)
    const [line] = traced().slice(-1)
    expect(line!.round).toBe(1)
    expect(line!.prompt).toMatch(new RegExp(`\\|\\|call: ${call!.name} ?\\(`))
    expect(line!.prompt).toContain('||result: {"word": "PINEAPPLE"}')
  })

  test('an abort before a forced call is complete ends with "abort" and no call; dispose() stops a chat', async () => {
    const controller = new AbortController()
    const parts = []
    for await (const part of forced.generate(
      greedy({ tools: [SHOUT], signal: controller.signal }, { max_tokens: 100 }),
    )) {
      parts.push(part)
      if (parts.length === 1) break
    }
    // a consumer that stops reading early is fine too; now abort one outright, before its call is made
    const aborting = forced.generate(greedy({ tools: [SHOUT], signal: controller.signal }, { max_tokens: 100 }))
    setTimeout(() => controller.abort(), 5)
    const rest = []
    for await (const part of aborting) rest.push(part)
    expect(rest.filter((p) => p.type === 'tool-call')).toEqual([])
    expect(finishOf(rest).reason).toBe('abort')

    const other = createLlamaCpp({ threads: 1 })
    const stream = other.generate(greedy({}, { max_tokens: 1000 }))[Symbol.asyncIterator]()
    const first = await stream.next()
    expect(first.value?.type).toBe('text-delta')
    await other.dispose?.()
    const tail = []
    for (let r = await stream.next(); !r.done; r = await stream.next()) tail.push(r.value)
    expect(tail.at(-1)).toMatchObject({ type: 'finish', reason: 'abort' })
  })

  test('chatWrapper none ignores tools (raw completion)', async () => {
    const raw = createLlamaCpp({ threads: 1, chatWrapper: 'none', forceToolCall: true })
    try {
      const parts = await collect(raw, greedy({ tools: [SECRET] }))
      expect(parts.filter((p) => p.type === 'tool-call')).toEqual([])
      expect(textOf(parts).startsWith(', there was a little girl')).toBe(true)
    } finally {
      await raw.dispose?.()
    }
  })
})
