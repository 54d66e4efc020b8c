import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import OpenAI from 'openai'
import { stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { makeProject } from '../support/cli.js'
import { startServe, type ServeProcess } from '../support/serve.js'

const cosine = (a: number[], b: number[]) => {
  let dot = 0
  let na = 0
  let nb = 0
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!
    na += a[i]! * a[i]!
    nb += b[i]! * b[i]!
  }
  return dot / Math.sqrt(na * nb)
}

let project: { dir: string; home: string }
let serve: ServeProcess
let client: OpenAI

beforeAll(async () => {
  project = makeProject({})
  serve = await startServe([], { cwd: project.dir, env: { MIRADOR_HOME: project.home, MIRADOR_MEMORY: 'on' } })
  client = new OpenAI({ baseURL: serve.url, apiKey: 'unused', maxRetries: 0 })
}, 60_000)

afterAll(async () => {
  if (serve) expect(await serve.stop()).toBe(0)
  if (project) await stopChromaServer(project.home)
})

describe('POST /v1/embeddings', () => {
  it('embeds texts with the memory embedder: one vector each, similar texts closer than unrelated ones', async () => {
    const texts = [
      'How do I bake sourdough bread at home?',
      'What is a good recipe for homemade sourdough loaves?',
      'The quarterly tax filing deadline is next Monday.',
    ]
    // the client asks for base64 unless told: both forms are checked
    for (const encoding_format of [undefined, 'float'] as const) {
      const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: texts, encoding_format })
      expect(r.object).toBe('list')
      expect(r.model).toBe('use-lite/512')
      expect(r.data.map((d) => d.index)).toEqual([0, 1, 2])
      const [bread, sourdough, tax] = r.data.map((d) => d.embedding)
      expect(bread!.length).toBe(512)
      expect(sourdough!.length).toBe(bread!.length)
      expect(cosine(bread!, sourdough!)).toBeGreaterThan(cosine(bread!, tax!) + 0.1)
      expect(r.usage.prompt_tokens).toBe(9 + 10 + 9)
    }
  }, 60_000)

  it('takes a single string', async () => {
    const r = await client.embeddings.create({ model: 'any', input: 'hello there', encoding_format: 'float' })
    expect(r.data).toHaveLength(1)
    expect(r.data[0]!.embedding.length).toBe(512)
    expect(r.usage).toEqual({ prompt_tokens: 2, total_tokens: 2 })
  }, 30_000)

  it.each([
    [{ model: 'm', input: [] }, /non-empty array of strings/],
    [{ model: 'm', input: [1, 2, 3] }, /token arrays are not supported/],
    [{ model: 'm', input: '' }, /empty string/],
    [{ model: 'm', input: Array.from({ length: 257 }, () => 'x') }, /at most 256/],
    [{ model: 'm', input: ['x'.repeat(60_000), 'y'.repeat(60_000)] }, /120000 characters in all: send at most 100000/],
    [{ model: 'm', input: 'x', dimensions: 64 }, /`dimensions` is not supported/],
  ])('answers 400 to a bad request (%#)', async (body, message) => {
    const err = await client.embeddings.create(body as never).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OpenAI.BadRequestError)
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(message)
  })
})
