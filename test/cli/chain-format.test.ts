/**
 * Structured output (`format:` on a stage) through the real CLI against the Ollama test double:
 * the format reaches Ollama, `done` carries the parsed value, an answer that is not the JSON asked
 * for is a STAGE_FORMAT error with its position and the run falls back to the next answer stage,
 * and a chain whose schema is not a JSON Schema fails to load at the schema's line and column.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import type { LooseEvent as RunEvent } from '../support/events.js'
import { DEFAULT_MODELS, startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'
import { gguf, itGguf } from '../support/test-gguf.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
  broken: { runtime: ollama, base: "broken:1b" }
  wrong: { runtime: ollama, base: "wrong:1b" }
`
const SCHEMA = '{ type: object, required: [answer], properties: { answer: { type: string } } }'

let server: OllamaTestServer
beforeAll(async () => {
  server = await startOllamaTestServer({
    models: [
      ...DEFAULT_MODELS,
      // a model that ignores the format: its JSON breaks on line 2
      { name: 'broken:1b', reply: () => '{"answer":\n  oops}' },
      // valid JSON of the wrong shape
      { name: 'wrong:1b', reply: () => '{"answer": 42}' },
    ],
  })
})
afterAll(async () => {
  await server.close()
})

function chain(first: string, format: string): string {
  return `answer: [first, quick]
stages:
  first:
    model: ${first}
    prompt: "Answer in JSON: {{query}}"
    format: ${format}
  quick:
    model: quick
    prompt: "Briefly: {{query}}"
    format: json
`
}

async function run(first: string, format: string) {
  const p = makeProject({ 'chains/structured.yaml': chain(first, format), 'models/manifest.yaml': MANIFEST })
  const r = await runCli(['chain', 'run', 'structured', 'Name a colour', '--json'], {
    cwd: p.dir,
    env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url },
  })
  return r
}

const chats = (model: string) =>
  server.requests.filter((q) => q.path === '/api/chat' && q.body?.model === model && q.body?.messages?.length)
const done = (ev: RunEvent[]) => ev.find((e) => e.type === 'done')!
const errors = (ev: RunEvent[]) => ev.filter((e) => e.type === 'error')

describe('stage format', () => {
  it('sends the schema to Ollama and puts the parsed answer on done as value', async () => {
    const r = await run('quick', `{ schema: ${SCHEMA} }`)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(chats('llama3.2:1b').map((q) => q.body.format)).toEqual(
      expect.arrayContaining([
        'json',
        { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } },
      ]),
    )
    const d = done(r.events)
    expect(d).toMatchObject({ stage: 'first', ok: true })
    expect(d.value).toEqual(JSON.parse(String(d.answer)))
    expect(typeof (d.value as { answer: unknown }).answer).toBe('string')
    expect(errors(r.events)).toEqual([])
  })

  it('an answer that is not JSON is STAGE_FORMAT with its line and column; the next answer stage answers', async () => {
    const r = await run('broken', 'json')
    expect(r.code).toBe(0)
    expect(chats('broken:1b').at(-1)!.body.format).toBe('json')
    const [err] = errors(r.events)
    expect(err).toMatchObject({ stage: 'first', code: 'STAGE_FORMAT' })
    expect(err!.message).toMatch(/not JSON .*"o" where a JSON value should be, at line 2, column 3 of its answer/)
    const d = done(r.events)
    expect(d).toMatchObject({ stage: 'quick', ok: true })
    expect(d.value).toEqual({ answer: expect.any(String) })
  })

  it('JSON that fails the schema is STAGE_FORMAT naming the pointer and what was expected', async () => {
    const r = await run('wrong', `{ schema: ${SCHEMA} }`)
    const [err] = errors(r.events)
    expect(err).toMatchObject({ stage: 'first', code: 'STAGE_FORMAT' })
    expect(err!.message).toMatch(/at \/answer: must be string/)
    expect(done(r.events)).toMatchObject({ stage: 'quick', ok: true })
  })

  it('a stage without format sends none and done has no value', async () => {
    const p = makeProject({
      'chains/plain.yaml': 'stages:\n  a: { model: quick, prompt: "Say {{query}}" }\n',
      'models/manifest.yaml': MANIFEST,
    })
    const before = server.requests.length
    const r = await runCli(['chain', 'run', 'plain', 'hello', '--json'], {
      cwd: p.dir,
      env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url },
    })
    expect(r.code).toBe(0)
    const sent = server.requests.slice(before).filter((q) => q.path === '/api/chat' && q.body?.messages?.length)
    expect(sent.length).toBeGreaterThan(0)
    for (const q of sent) expect(q.body).not.toHaveProperty('format')
    expect(done(r.events)).not.toHaveProperty('value')
  })

  itGguf('on llama.cpp the grammar makes the tokens JSON: a value, or STAGE_FORMAT with a position', async () => {
    const p = makeProject({
      'models/manifest.yaml':
        'models:\n  tiny: { runtime: llamacpp, file: "${MIRADOR_TEST_GGUF}", threads: 1, context_size: 256 }\n',
      'chains/tiny.yaml':
        'stages:\n  a:\n    model: tiny\n    prompt: "{{query}}"\n    format: json\n' +
        '    options: { temperature: 0, max_tokens: 16 }\n',
    })
    const r = await runCli(['chain', 'run', 'tiny', 'Once upon a time', '--json'], {
      cwd: p.dir,
      env: { MIRADOR_HOME: p.home, MIRADOR_TEST_GGUF: gguf() },
      timeoutMs: 60000,
    })
    expect(r.code).not.toBeNull()
    const tokens = r.events.filter((e) => e.type === 'token')
    expect(tokens.length).toBeGreaterThan(0)
    for (const t of tokens) expect(t.confidence).toBeGreaterThan(0)
    const text = tokens.map((e) => e.text).join('')
    expect(text.trimStart()).toMatch(/^[{[]/)
    const d = done(r.events)
    const err = errors(r.events)[0]
    if (err) {
      expect(err).toMatchObject({ stage: 'a', code: 'STAGE_FORMAT' })
      expect(err.message).toMatch(/at line \d+, column \d+ of its answer/)
      expect(d).toMatchObject({ ok: false })
    } else {
      expect(d).toMatchObject({ ok: true, stage: 'a' })
      expect(d.value).toEqual(JSON.parse(text))
    }
  })

  it('a format schema that is not a JSON Schema fails the chain at its file:line:column', async () => {
    const p = makeProject({
      'chains/bad.yaml':
        'stages:\n  a:\n    model: quick\n    prompt: x\n    format:\n      schema:\n' +
        '        type: object\n        properties:\n          n: { type: numbr }\n',
      'models/manifest.yaml': MANIFEST,
    })
    const v = await runCli(['chain', 'validate', 'chains/bad.yaml'], { cwd: p.dir, env: { MIRADOR_HOME: p.home } })
    expect(v.code).toBe(1)
    expect(v.stderr).toMatch(/chains\/bad\.yaml:9:\d+: CONFIG_INVALID: stage "a": format schema is not a valid JSON/)
    const r = await runCli(['chain', 'run', 'bad', 'q'], {
      cwd: p.dir,
      env: { MIRADOR_HOME: p.home, OLLAMA_HOST: server.url },
    })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/CONFIG_INVALID: .*bad\.yaml:9:\d+: stage "a": format schema/)
  })
})
