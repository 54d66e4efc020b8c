/**
 * The pure parts of llama.cpp chat: a request as node-llama-cpp's chat history, tools as its
 * functions, confidences paired with streamed chunks, and the chat wrapper names kept in step with
 * the manifest schema and node-llama-cpp.
 */
import { describe, expect, test } from '@jest/globals'
import { readFileSync } from 'node:fs'
import { specializedChatWrapperTypeNames } from 'node-llama-cpp'
import { CHAT_WRAPPER_NAMES, checkChatWrapperName } from '../../src/runtimes/llamacpp/chat-wrapper.js'
import { chatFunctions, chatHistory } from '../../src/runtimes/llamacpp/history.js'
import { ConfidenceTrail } from '../../src/runtimes/llamacpp/text.js'

describe('chatHistory', () => {
  test('system and prompt, then an empty model response to generate', () => {
    expect(chatHistory({ system: 'Be brief.', prompt: 'Hi' })).toEqual([
      { type: 'system', text: 'Be brief.' },
      { type: 'user', text: 'Hi' },
      { type: 'model', response: [] },
    ])
    expect(chatHistory({ prompt: 'Hi' })).toEqual([
      { type: 'user', text: 'Hi' },
      { type: 'model', response: [] },
    ])
  })

  test('tool rounds are one model response going on: text, calls with their results, in order', () => {
    const history = chatHistory({
      prompt: 'What is 2+2 and the time?',
      turns: [
        {
          role: 'assistant',
          content: 'Let me see.',
          toolCalls: [
            { id: '0.call_0', name: 'calculate', arguments: { expression: '2+2' } },
            { id: '0.call_1', name: 'clock', arguments: {} },
          ],
        },
        { role: 'tool', name: 'clock', callId: '0.call_1', content: '{"time":"12:00"}' },
        { role: 'tool', name: 'calculate', callId: '0.call_0', content: '{"result":4}' },
        { role: 'assistant', content: '', toolCalls: [{ id: '1.call_0', name: 'fail', arguments: {} }] },
        { role: 'tool', name: 'fail', callId: '1.call_0', content: 'not json' },
      ],
    })
    expect(history.at(-1)).toEqual({
      type: 'model',
      response: [
        'Let me see.',
        {
          type: 'functionCall',
          name: 'calculate',
          params: { expression: '2+2' },
          result: { result: 4 },
          startsNewChunk: true,
        },
        { type: 'functionCall', name: 'clock', params: {}, result: { time: '12:00' } },
        { type: 'functionCall', name: 'fail', params: {}, result: 'not json', startsNewChunk: true },
      ],
    })
  })

  test('tools become functions; none offered is undefined', () => {
    expect(chatFunctions(undefined)).toBeUndefined()
    expect(chatFunctions([])).toBeUndefined()
    const parameters = { type: 'object', properties: { q: { type: 'string' } } }
    expect(chatFunctions([{ name: 'search', description: 'Searches.', parameters }])).toEqual({
      search: { description: 'Searches.', params: parameters },
    })
  })
})

describe('ConfidenceTrail', () => {
  test("pairs each chunk's tokens with their sampled probabilities, skipping tokens never shown", () => {
    const trail = new ConfidenceTrail([
      { token: 5, confidence: 0.5 },
      { token: 6, confidence: 0.25 },
      { token: 7, confidence: 1 }, // e.g. a stop string's token: never in a chunk
      { token: 8, confidence: 0.5 },
      { token: 5, confidence: 0.125 },
    ])
    expect(trail.logprobOf([5])).toBeCloseTo(Math.log(0.5))
    expect(trail.logprobOf([6])).toBeCloseTo(Math.log(0.25))
    expect(trail.logprobOf([8, 5])).toBeCloseTo(Math.log(0.5) + Math.log(0.125))
    // a token that was not sampled (or was already used) adds nothing
    expect(trail.logprobOf([5])).toBeUndefined()
    expect(trail.logprobOf([])).toBeUndefined()
  })

  test('without recorded confidences there is no logprob', () => {
    expect(new ConfidenceTrail([{ token: 1 }]).logprobOf([1])).toBeUndefined()
  })
})

describe('chat wrapper names', () => {
  test("are node-llama-cpp's specialized wrappers plus auto and none, as the manifest schema lists them", () => {
    expect(CHAT_WRAPPER_NAMES).toEqual(['auto', 'none', ...specializedChatWrapperTypeNames])
    const schema = JSON.parse(readFileSync('schemas/manifest.schema.json', 'utf8')) as {
      definitions: { entry: { properties: { chat_wrapper: { enum: string[] } } } }
    }
    expect(schema.definitions.entry.properties.chat_wrapper.enum).toEqual([...CHAT_WRAPPER_NAMES])
  })

  test('an unknown name is a USAGE error listing the known ones', () => {
    expect(checkChatWrapperName('llama2Chat')).toBe('llama2Chat')
    expect(() => checkChatWrapperName('llama2')).toThrow(
      expect.objectContaining({ code: 'USAGE', message: expect.stringContaining('auto, none, general') }),
    )
  })
})
