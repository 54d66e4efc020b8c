/**
 * Structured output on the real stories260K GGUF: a request's `format` constrains sampling to
 * JSON (a story model left alone writes prose), token confidences stay, and the engine's check of
 * the answer gives a value or, when max_tokens cut the JSON off, STAGE_FORMAT with a position.
 */
import { afterAll, expect, test } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { parseOutput } from '../../src/engine/format.js'
import type { GenerateRequest } from '../../src/engine/runtime.js'
import { createLlamaCpp } from '../../src/runtimes/llamacpp/index.js'
import { STORY_START, collect, deltas, finishOf, textOf } from './helpers.js'
import { TEST_GGUF, describeGguf } from '../support/test-gguf.js'

// the chat template (the default) and raw completion: the grammar constrains both
const chat = createLlamaCpp({ threads: 1 })
const raw = createLlamaCpp({ threads: 1, chatWrapper: 'none' })
const SCHEMA = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } }
const request = (format?: GenerateRequest['format'], maxTokens = 40): GenerateRequest => ({
  model: TEST_GGUF,
  prompt: 'Once upon a time',
  logprobs: true,
  ...(format !== undefined ? { format } : {}),
  options: { temperature: 0, max_tokens: maxTokens },
})

afterAll(async () => {
  await chat.dispose?.()
  await raw.dispose?.()
})

/** The engine's verdict on an answer: its value, or the STAGE_FORMAT error (which must give a position). */
function verdict(format: NonNullable<GenerateRequest['format']>, text: string): { value?: unknown; error?: string } {
  try {
    return { value: parseOutput('s', format === 'json' ? 'json' : { schema: format }, text) }
  } catch (e) {
    if (!(e instanceof MiradorError) || e.code !== 'STAGE_FORMAT') throw e
    expect(e.message).toMatch(/at line \d+, column \d+ of its answer|at \/\S*: /)
    return { error: e.message }
  }
}

describeGguf('llama.cpp structured output (real GGUF)', () => {
  test('without a format the model writes its story', async () => {
    expect(textOf(await collect(raw, request())).startsWith(STORY_START)).toBe(true)
    expect(textOf(await collect(chat, request()))).not.toMatch(/^\s*[{[]/)
  })
})

for (const [label, runtime] of [
  ['chat template', chat],
  ['raw completion', raw],
] as const)
  describeGguf(`llama.cpp structured output through the ${label} (real GGUF)`, () => {
    test("format json: the grammar makes the tokens JSON; they keep the model's confidences", async () => {
      const parts = await collect(runtime, request('json'))
      expect(parts.filter((p) => p.type === 'error')).toEqual([])
      const text = textOf(parts)
      expect(text.trimStart()).toMatch(/^[{[]/)
      const ds = deltas(parts)
      expect(ds.length).toBeGreaterThan(0)
      for (const d of ds) expect(Number.isFinite(d.logprob)).toBe(true)
      const v = verdict('json', text)
      if (v.error === undefined) expect(typeof v.value).toBe('object')
    })

    test('format with a schema: the grammar forces its shape; the generation stops when the JSON ends', async () => {
      const parts = await collect(runtime, request(SCHEMA, 60))
      const text = textOf(parts)
      // the only property the schema allows, in the only place it may go
      expect(text).toMatch(/^\s*\{\s*"name"\s*:\s*"/)
      // the grammar's stop trigger ends the padding a JSON grammar allows after the value
      expect(finishOf(parts).reason).toBe('stop')
      expect(finishOf(parts).usage.completionTokens).toBeLessThan(60)
      expect(text.trimEnd().endsWith('}')).toBe(true)
      expect(verdict(SCHEMA, text)).toEqual({ value: { name: expect.any(String) } })
    })

    test('a small max_tokens cuts the JSON off: STAGE_FORMAT at the end of the answer', async () => {
      const text = textOf(await collect(runtime, request(SCHEMA, 3)))
      expect(text.trimStart().startsWith('{')).toBe(true)
      expect(verdict(SCHEMA, text).error).toMatch(/ends where .* should follow, at line 1, column \d+ of its answer/)
    })
  })
