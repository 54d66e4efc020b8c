/** What a chat request's messages become: the query, the earlier turns and system texts, and where they go. */
import { describe, expect, it } from '@jest/globals'
import { renderTemplate } from '../../src/engine/template.js'
import type { Prompt } from '../../src/engine/types.js'
import { MAX_HISTORY_CHARS, withConversation } from '../../src/server/conversation.js'
import { parseChatRequest, type ChatRequest } from '../../src/server/messages.js'
import { requestMemory } from '../../src/server/session.js'

function parsed(messages: unknown[], extra: Record<string, unknown> = {}): ChatRequest {
  const r = parseChatRequest({ model: 'single', messages, ...extra })
  if (!r.ok) throw new Error(r.message)
  return r.value
}

const render = (p: Prompt) => ({
  text: renderTemplate(p.template, p.vars),
  system: p.system === undefined ? undefined : renderTemplate(p.system, p.vars),
})

describe('a chat request’s messages', () => {
  it('splits them: the last user message is the query, earlier turns in order, system texts from anywhere', () => {
    const r = parsed([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'one' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function' }] },
      { role: 'tool', content: 'tool output', tool_call_id: 'c' },
      { role: 'assistant', content: [{ type: 'text', text: 'two' }] },
      { role: 'developer', content: 'Use metric units.' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'three' },
          { type: 'image_url', image_url: { url: 'x' } },
        ],
      },
      { role: 'assistant', content: 'a prefill after the question' },
    ])
    expect(r.query).toBe('three')
    expect(r.history).toEqual([
      { role: 'user', text: 'one' },
      { role: 'assistant', text: 'two' },
    ])
    expect(r.system).toEqual(['Be terse.', 'Use metric units.'])
  })

  it('refuses a `user` that is not a string', () => {
    expect(parseChatRequest({ model: 'm', messages: [{ role: 'user', content: 'q' }], user: 7 })).toMatchObject({
      ok: false,
      param: 'user',
    })
  })

  it('puts them where a stage reads {{memory}}, after what memory put there, client text kept as text', () => {
    const c = {
      system: ['Say {{query}} literally.'],
      history: [
        { role: 'user' as const, text: 'What is {{stages.x.output}}?' },
        { role: 'assistant' as const, text: 'Nothing.' },
      ],
    }
    const prompt: Prompt = {
      template: '{{memory}}\n{{query}}',
      system: 'Be brief.',
      vars: { query: 'now', memory: 'Recalled: a fact' },
    }
    expect(render(withConversation(prompt, c))).toEqual({
      text: 'Recalled: a fact\n\nEarlier in this conversation:\nQ: What is {{stages.x.output}}?\nA: Nothing.\nnow',
      system: 'Be brief.\n\nSay {{query}} literally.',
    })
    // a stage without {{memory}} is left as it is
    const plain: Prompt = { template: '{{query}}', vars: { query: 'now' } }
    expect(withConversation(plain, c)).toBe(plain)
    // the most recent part is kept when the history is long
    const long = withConversation(
      { template: '{{memory}}', vars: {} },
      { system: [], history: [{ role: 'user', text: 'x'.repeat(MAX_HISTORY_CHARS) + 'END' }] },
    )
    const memory = String(long.vars.memory)
    expect(memory.endsWith('END')).toBe(true)
    expect(memory.length).toBeLessThan(MAX_HISTORY_CHARS + 40)
  })
})

describe('session and memory of a request', () => {
  it('takes the session from the header, else from `user`; memory off from the header', () => {
    expect(requestMemory({ 'x-mirador-session': 'garden' }, 'other')).toEqual({
      ok: true,
      memory: true,
      session: 'garden',
    })
    expect(requestMemory({}, 'from-user')).toEqual({ ok: true, memory: true, session: 'from-user' })
    expect(requestMemory({ 'x-mirador-memory': 'OFF' }, undefined)).toEqual({ ok: true, memory: false })
    expect(requestMemory({ 'x-mirador-memory': 'perhaps' }, undefined)).toMatchObject({ ok: false, param: 'memory' })
    expect(requestMemory({ 'x-mirador-session': 'no/slashes' }, undefined)).toMatchObject({
      ok: false,
      param: 'session',
    })
  })
})
