/**
 * The model manager on the real Ollama runtime and client, against the Ollama-protocol test
 * server: lazy loading, pulling, adapters created once per digest, eviction by unloading, and
 * models in use surviving eviction.
 */
import { afterEach, describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { Engine } from '../../src/engine/engine.js'
import type { ChainFile } from '../../src/engine/config/index.js'
import { ModelsPlugin } from '../../src/plugins/models/index.js'
import { registerBuiltinRuntimes } from '../../src/cli/runtimes.js'
import { makeProject } from '../support/cli.js'
import type { LooseEvent } from '../support/events.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'

let server: OllamaTestServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

function setupEngine(manifest: string, files: Record<string, string> = {}, memory = true) {
  const p = makeProject({ 'models/manifest.yaml': manifest, ...files })
  const engine = new Engine({
    cwd: p.dir,
    home: p.home,
    offline: false,
    memory,
    config: { ollama: { host: server!.url } },
  })
  registerBuiltinRuntimes(engine)
  const models = new ModelsPlugin({ manifest: path.join(p.dir, 'models/manifest.yaml') })
  expect(engine.use(models)).toBe(true)
  const events: LooseEvent[] = []
  engine.hooks.event.tap('Collect', (e) => void events.push(e as LooseEvent))
  const run = (stages: ChainFile['stages'], query = 'hi') =>
    engine.run({ chain: { name: 't', value: { stages } }, query })
  return { engine, models, events, run, project: p }
}

/** quick and deep, with room for one model loaded at a time */
const ONE_AT_A_TIME =
  'budget: { memory_gb: 64, max_loaded: 1 }\n' +
  'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n  deep: { runtime: ollama, base: "qwen2.5:7b" }\n'

const of = (events: LooseEvent[], type: string) => events.filter((e) => e.type === type)
const chat = () => server!.requests.filter((r) => r.path === '/api/chat' && r.body?.messages?.length)

describe('model manager on Ollama', () => {
  it('loads nothing at start-up, then makes a model ready the first time a stage needs it', async () => {
    server = await startOllamaTestServer()
    const { events, run } = setupEngine(
      'models:\n  quick: { runtime: ollama, base: "llama3.2:1b", keep_alive: "7m" }\n',
    )
    expect(server.requests.filter((r) => r.method === 'POST')).toHaveLength(0)
    const r = await run({ a: { model: 'quick', prompt: '{{query}}' } })
    expect(r.ok).toBe(true)
    const loads = of(events, 'model-load')
    expect(loads).toEqual([
      expect.objectContaining({ model: 'llama3.2:1b', runtime: 'ollama', adapters: 0, evicted: [] }),
    ])
    expect(typeof loads[0]!.ms).toBe('number')
    // the load comes before the stage starts, and Ollama holds the model with its keep_alive
    expect(events.findIndex((e) => e.type === 'model-load')).toBeLessThan(
      events.findIndex((e) => e.type === 'stage-start'),
    )
    expect(server.loaded().map((m) => m.name)).toEqual(['llama3.2:1b'])
    expect(chat()[0]!.body.keep_alive).toBe('7m')
  })

  it('a second stage on a loaded model does not load it again', async () => {
    server = await startOllamaTestServer()
    const { events, run } = setupEngine('models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n')
    await run({ a: { model: 'quick', prompt: 'x' }, b: { model: 'quick', prompt: 'y' } })
    await run({ c: { model: 'quick', prompt: 'z' } })
    expect(of(events, 'model-load')).toHaveLength(1)
    expect(chat()).toHaveLength(3)
  })

  it('pulls a missing model with progress before loading it', async () => {
    server = await startOllamaTestServer({ models: [{ name: 'qwen2.5:7b', present: false }] })
    const { events, run } = setupEngine('models:\n  deep: { runtime: ollama, base: "qwen2.5:7b" }\n')
    const r = await run({ a: { model: 'deep', prompt: 'x' } })
    expect(r.ok).toBe(true)
    const pulls = of(events, 'model-pull')
    expect(pulls.length).toBeGreaterThan(2)
    expect(pulls.at(-1)).toMatchObject({ model: 'qwen2.5:7b', status: 'success' })
    expect(events.indexOf(pulls.at(-1)!)).toBeLessThan(events.findIndex((e) => e.type === 'model-load'))
    expect(server.present()).toContain('qwen2.5:7b')
  })

  it('creates a model with an adapter once per adapter digest, across processes', async () => {
    server = await startOllamaTestServer()
    const manifest = 'models:\n  coder: { runtime: ollama, base: "llama3.2:1b", lora: ../adapters/coder.safetensors }\n'
    const files = { 'adapters/coder.safetensors': 'pretend adapter weights v1' }
    const first = setupEngine(manifest, files)
    const r1 = await first.run({ a: { model: 'coder', prompt: 'x' } })
    expect(r1.ok).toBe(true)
    const creates = () => server!.requests.filter((r) => r.path === '/api/create')
    const uploads = () => server!.requests.filter((r) => r.method === 'POST' && r.path.startsWith('/api/blobs/'))
    expect(creates()).toHaveLength(1)
    expect(uploads()).toHaveLength(1)
    expect(creates()[0]!.body).toMatchObject({
      from: 'llama3.2:1b',
      adapters: { 'coder.safetensors': expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
    })
    const derived = creates()[0]!.body.model as string
    expect(chat().at(-1)!.body.model).toBe(derived)
    // a new process (new engine, new runtime) with the same adapter creates nothing
    const again = setupEngine(manifest, files)
    await again.run({ a: { model: 'coder', prompt: 'x' } })
    expect(creates()).toHaveLength(1)
    expect(uploads()).toHaveLength(1)
    // a changed adapter is a new digest: one more upload and create
    const changed = setupEngine(manifest, { 'adapters/coder.safetensors': 'pretend adapter weights v2' })
    await changed.run({ a: { model: 'coder', prompt: 'x' } })
    expect(creates()).toHaveLength(2)
    expect(creates()[1]!.body.model).not.toBe(derived)
  })

  it('evicts by unloading (keep_alive 0) when a load would pass max_loaded', async () => {
    server = await startOllamaTestServer()
    const { events, run } = setupEngine(ONE_AT_A_TIME)
    await run({ a: { model: 'quick', prompt: 'x' } })
    await run({ b: { model: 'deep', prompt: 'y' } })
    expect(of(events, 'model-evict')).toEqual([
      expect.objectContaining({ model: 'llama3.2:1b', reason: 'to make room for qwen2.5:7b' }),
    ])
    expect(of(events, 'model-load').at(-1)).toMatchObject({ model: 'qwen2.5:7b', evicted: ['llama3.2:1b'] })
    const unloads = server.requests.filter((r) => r.body?.keep_alive === 0)
    expect(unloads.map((r) => r.body.model)).toEqual(['llama3.2:1b'])
    expect(server.loaded().map((m) => m.name)).toEqual(['qwen2.5:7b'])
  })

  it('evicts to stay within the memory budget, and refuses a model larger than the budget', async () => {
    server = await startOllamaTestServer({ models: [{ name: 'a:1b' }, { name: 'b:1b' }, { name: 'huge:70b' }] })
    const { events, run } = setupEngine(
      'budget: { memory_gb: 3, max_loaded: 5 }\nmodels:\n' +
        '  a: { runtime: ollama, base: "a:1b", size_gb: 2 }\n  b: { runtime: ollama, base: "b:1b", size_gb: 2 }\n' +
        '  huge: { runtime: ollama, base: "huge:70b", size_gb: 40 }\n',
    )
    await run({ s: { model: 'a', prompt: 'x' } })
    await run({ s: { model: 'b', prompt: 'x' } })
    expect(of(events, 'model-evict').map((e) => e.model)).toEqual(['a:1b'])
    const r = await run({ s: { model: 'huge', prompt: 'x' } })
    expect(r.ok).toBe(false)
    expect(of(events, 'error').at(-1)).toMatchObject({
      code: 'MODEL_BUDGET',
      message: expect.stringContaining('needs 40 GB, more than the 3 GB budget'),
    })
  })

  it('never evicts a model in use: a load waits until the running stage releases it', async () => {
    server = await startOllamaTestServer({ tokenDelayMs: 5 })
    const { events, run } = setupEngine(ONE_AT_A_TIME)
    const r = await run({ quick: { model: 'quick', prompt: 'x' }, deep: { model: 'deep', prompt: 'y' } })
    expect(r.ok).toBe(true)
    expect(of(events, 'error')).toHaveLength(0)
    expect(of(events, 'model-wait')).toHaveLength(1)
    const quickEnd = events.findIndex((e) => e.type === 'stage-end' && e.stage === 'quick')
    const evict = events.findIndex((e) => e.type === 'model-evict')
    expect(evict).toBeGreaterThan(quickEnd)
    expect(events.findIndex((e) => e.type === 'stage-start' && e.stage === 'deep')).toBeGreaterThan(evict)
  })

  it('adopts a manifest model another run left loaded, and counts it in the budget', async () => {
    server = await startOllamaTestServer()
    await setupEngine(ONE_AT_A_TIME).run({ a: { model: 'quick', prompt: 'x' } })
    const second = setupEngine(ONE_AT_A_TIME)
    await second.run({ b: { model: 'deep', prompt: 'y' } })
    expect(of(second.events, 'model-evict')).toEqual([expect.objectContaining({ model: 'llama3.2:1b' })])
    expect(server.loaded().map((m) => m.name)).toEqual(['qwen2.5:7b'])
  })

  it('a model another run left loaded is used at once: no show, load or size request before the chat', async () => {
    server = await startOllamaTestServer()
    const manifest = 'models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n'
    await setupEngine(manifest).run({ a: { model: 'quick', prompt: 'x' } })
    const before = server.requests.length
    const second = setupEngine(manifest)
    expect((await second.run({ a: { model: 'quick', prompt: 'again' } })).ok).toBe(true)
    const paths = server.requests.slice(before).map((r) => r.path)
    expect(paths).toEqual(['/api/ps', '/api/chat'])
    expect(of(second.events, 'model-load')).toEqual([])
  })

  it('what the policy learned is saved under MIRADOR_HOME for the next run', async () => {
    server = await startOllamaTestServer()
    const { run, project } = setupEngine('models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n')
    await run({ a: { model: 'quick', prompt: 'x' } })
    const { readFileSync } = await import('node:fs')
    const saved = JSON.parse(readFileSync(path.join(project.home, 'models/usage.json'), 'utf8'))
    expect(saved.clock).toBe(1)
    expect(Object.values(saved.usage)).toEqual([{ count: 1, at: 1 }])
  })

  it('with memory off, nothing is written under MIRADOR_HOME', async () => {
    server = await startOllamaTestServer()
    const { run, project } = setupEngine('models:\n  quick: { runtime: ollama, base: "llama3.2:1b" }\n', {}, false)
    expect((await run({ a: { model: 'quick', prompt: 'x' } })).ok).toBe(true)
    const { readdirSync } = await import('node:fs')
    expect(readdirSync(project.home)).toEqual([])
  })
})
