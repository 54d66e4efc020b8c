/**
 * `mirador serve` beyond one chain and one message: manifest models as `model/NAME`, sessions through
 * X-Mirador-Session (or `user`), memory off per request, and a request's earlier messages reaching
 * the model, all through the official openai client and checked in what the Ollama test double got.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import OpenAI from 'openai'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { filesHolding } from '../support/home-files.js'
import { startOllamaTestServer, type OllamaTestServer, type RecordedRequest } from '../support/ollama-server.js'
import { makeProject, runCli } from '../support/cli.js'
import { startServe, type ServeProcess } from '../support/serve.js'

const MANIFEST = `models:
  quick: { runtime: ollama, base: "llama3.2:1b" }
  deep: { runtime: ollama, base: "qwen2.5:7b" }
`
// a chain named as a model is: the ids still differ (quick, model/quick)
const QUICK = `name: quick
stages:
  answer:
    model: quick
    system: Be brief.
    prompt: "{{memory}}\\n{{query}}"
`
const TWO = `name: two
stages:
  first: { model: quick, prompt: "{{query}}" }
  second: { model: deep, prompt: "{{query}} {{stages.first.output}}" }
`

let ollama: OllamaTestServer
let project: { dir: string; home: string }
let serve: ServeProcess
let client: OpenAI
const env = () => ({ MIRADOR_HOME: project.home, OLLAMA_HOST: ollama.url, MIRADOR_MEMORY: 'on' })

beforeAll(async () => {
  ollama = await startOllamaTestServer({ tokenDelayMs: 1 })
  project = makeProject({ 'chains/quick.yaml': QUICK, 'chains/two.yaml': TWO, 'models/manifest.yaml': MANIFEST })
  serve = await startServe([], { cwd: project.dir, env: env() })
  client = new OpenAI({ baseURL: serve.url, apiKey: 'unused', maxRetries: 0 })
}, 60_000)

afterAll(async () => {
  if (serve) expect(await serve.stop()).toBe(0)
  await ollama?.close()
  if (project) await stopChromaServer(project.home)
})

/** The chat requests the test double got while `fn` ran. */
async function chatsDuring(fn: () => Promise<unknown>): Promise<RecordedRequest[]> {
  const before = ollama.requests.length
  await fn()
  return ollama.requests.slice(before).filter((r) => r.path === '/api/chat')
}

const promptOf = (r: RecordedRequest): string => r.body.messages.at(-1).content as string
const systemOf = (r: RecordedRequest): string | undefined =>
  r.body.messages.find((m: { role: string }) => m.role === 'system')?.content

async function sessionNames(): Promise<string[]> {
  const ls = await runCli(['session', 'ls', '--json'], { cwd: project.dir, env: env() })
  expect(ls.code).toBe(0)
  return (JSON.parse(ls.stdout) as { name: string }[]).map((s) => s.name)
}

describe('mirador serve: models, sessions, memory and earlier messages', () => {
  it('lists the chains by name and the manifest models as model/NAME', async () => {
    const listed: { id: string; kind: string }[] = []
    for await (const m of client.models.list()) {
      listed.push({ id: m.id, kind: 'mirador' in m ? (m.mirador as { kind: string }).kind : '' })
    }
    expect(listed).toEqual(
      expect.arrayContaining([
        { id: 'quick', kind: 'chain' },
        { id: 'two', kind: 'chain' },
        { id: 'model/quick', kind: 'model' },
        { id: 'model/deep', kind: 'model' },
      ]),
    )
  })

  it('runs a model id as one stage on that model, streamed or not', async () => {
    let answer = ''
    const chats = await chatsDuring(async () => {
      const r = await client.chat.completions.create(
        { model: 'model/deep', messages: [{ role: 'user', content: 'Name a colour' }] },
        { headers: { 'X-Mirador-Memory': 'off' } },
      )
      answer = r.choices[0]!.message.content ?? ''
      expect('mirador' in r && r.mirador).toMatchObject({
        stage: 'answer',
        models: ['qwen2.5:7b'],
      })
    })
    expect(answer.length).toBeGreaterThan(0)
    expect(chats.map((c) => c.body.model)).toEqual(['qwen2.5:7b'])
    expect(promptOf(chats[0]!).trim()).toBe('Name a colour')

    const starts: string[] = []
    const stream = await client.chat.completions.create(
      { model: 'model/quick', messages: [{ role: 'user', content: 'Name a colour' }], stream: true },
      { headers: { 'X-Mirador-Memory': 'off' } },
    )
    for await (const c of stream) {
      const e = 'mirador' in c ? (c.mirador as { type: string; stage?: string; model?: string }) : undefined
      if (e?.type === 'stage-start') starts.push(`${e.stage}:${e.model}`)
    }
    expect(starts).toEqual(['answer:llama3.2:1b'])
    await expect(
      client.chat.completions.create({ model: 'model/nope', messages: [{ role: 'user', content: 'hi' }] }),
    ).rejects.toMatchObject({ status: 404, code: 'model_not_found' })
  }, 30_000)

  it("gives the model the request's earlier messages: system prompts and the turns before the question", async () => {
    const [chat] = await chatsDuring(() =>
      client.chat.completions.create(
        {
          model: 'quick',
          messages: [
            { role: 'system', content: 'Answer like a pirate.' },
            { role: 'user', content: 'My boat is called Marigold.' },
            { role: 'assistant', content: 'A fine name for a boat.' },
            { role: 'user', content: 'What is my boat called?' },
          ],
        },
        { headers: { 'X-Mirador-Memory': 'off' } },
      ),
    )
    expect(promptOf(chat!)).toBe(
      'Earlier in this conversation:\nQ: My boat is called Marigold.\nA: A fine name for a boat.\n' +
        'What is my boat called?',
    )
    // the chain's system prompt stays, the client's follows it
    expect(systemOf(chat!)).toBe('Be brief.\n\nAnswer like a pirate.')
  }, 30_000)

  it('a stage that does not read {{memory}} gets only the question, as with a session', async () => {
    const chats = await chatsDuring(() =>
      client.chat.completions.create(
        {
          model: 'two',
          messages: [
            { role: 'system', content: 'Answer like a pirate.' },
            { role: 'user', content: 'My boat is called Marigold.' },
            { role: 'user', content: 'What is my boat called?' },
          ],
        },
        { headers: { 'X-Mirador-Memory': 'off' } },
      ),
    )
    expect(chats).toHaveLength(2)
    for (const c of chats) {
      expect(promptOf(c)).not.toContain('Marigold')
      expect(systemOf(c) ?? '').not.toContain('pirate')
    }
  }, 30_000)

  it('X-Mirador-Session continues a session: the second request sees the first exchange, kept sealed', async () => {
    const ask = (q: string) =>
      client.chat.completions.create(
        { model: 'quick', messages: [{ role: 'user', content: q }] },
        { headers: { 'X-Mirador-Session': 'allotment-notes' } },
      )
    const first = await ask('Where is the quince orchard gate?')
    const [second] = await chatsDuring(() => ask('And when does it open?'))
    expect(promptOf(second!)).toContain('Q: Where is the quince orchard gate?')
    expect(promptOf(second!)).toContain(`A: ${first.choices[0]!.message.content!.trim()}`)
    expect(await sessionNames()).toContain('allotment-notes')
    const show = await runCli(['session', 'show', 'allotment-notes'], { cwd: project.dir, env: env() })
    expect(show.stdout).toContain('quince orchard gate')
    for (const needle of ['allotment-notes', 'quince orchard'])
      expect([needle, filesHolding(project.home, needle)]).toEqual([needle, []])
  }, 60_000)

  it('without the header, the `user` field names the session', async () => {
    const ask = (q: string) =>
      client.chat.completions.create({ model: 'quick', messages: [{ role: 'user', content: q }], user: 'via-user' })
    await ask('Remember the walnut tree by the shed.')
    const [chat] = await chatsDuring(() => ask('Which tree?'))
    expect(promptOf(chat!)).toContain('Q: Remember the walnut tree by the shed.')
    expect(await sessionNames()).toContain('via-user')
    await expect(
      client.chat.completions.create({ model: 'quick', messages: [{ role: 'user', content: 'hi' }], user: 'a b/c' }),
    ).rejects.toMatchObject({ status: 400, code: 'invalid_user' })
  }, 60_000)

  it('X-Mirador-Memory: off keeps nothing: no session, no memory of the question, no energy log line', async () => {
    const energyLog = () => {
      const f = path.join(project.home, 'energy', 'log.jsonl')
      return existsSync(f) ? readFileSync(f, 'utf8') : ''
    }
    const logged = energyLog()
    const r = await client.chat.completions.create(
      { model: 'quick', messages: [{ role: 'user', content: 'The hidden heron pond' }] },
      { headers: { 'X-Mirador-Session': 'never-kept', 'X-Mirador-Memory': 'off' } },
    )
    expect(r.choices[0]!.message.content).toBeTruthy()
    expect(await sessionNames()).not.toContain('never-kept')
    expect(energyLog()).toBe(logged)
    const search = await runCli(['memory', 'search', 'hidden heron pond', '--json'], { cwd: project.dir, env: env() })
    expect(search.stdout).not.toContain('heron')
    // the check can fail: a request with memory on is remembered
    await client.chat.completions.create({
      model: 'quick',
      messages: [{ role: 'user', content: 'The kept kingfisher' }],
    })
    const kept = await runCli(['memory', 'search', 'kept kingfisher', '--json'], { cwd: project.dir, env: env() })
    expect(kept.stdout).toContain('kingfisher')
    expect(energyLog().length).toBeGreaterThan(logged.length)
    await expect(
      client.chat.completions.create(
        { model: 'quick', messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'X-Mirador-Memory': 'maybe' } },
      ),
    ).rejects.toMatchObject({ status: 400, code: 'invalid_memory' })
  }, 60_000)
})
