/**
 * The model manager's side of the Ollama runtime against the test double: prepare (pull if absent,
 * load with keep_alive, LoRA adapters as derived models created once per digest), unload,
 * listLoaded, and aborts and timeouts while preparing.
 */
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ModelSpec, PreparedModel, Progress } from '../../src/engine/runtime.js'
import { MiradorError } from '../../src/engine/errors.js'
import {
  createOllama,
  derivedModelName,
  entrySlug,
  type OllamaRuntime,
  type OllamaSettings,
} from '../../src/runtimes/ollama/index.js'
import { adaptedReply, defaultReply, startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { collect, texts, until } from './helpers.js'

let server: OllamaTestServer
let dir: string
const runtimes: OllamaRuntime[] = []

beforeEach(async () => {
  server = await startOllamaTestServer({
    models: [
      { name: 'llama3.2:1b', size: 3_000_000 },
      { name: 'phi3:mini', size: 6_000_000, present: false },
    ],
    pullSteps: 2,
  })
  dir = await mkdtemp(join(tmpdir(), 'mirador-ollama-prepare-'))
})
afterEach(async () => {
  for (const rt of runtimes.splice(0)) await rt.dispose?.()
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

const runtime = (over: OllamaSettings = {}): OllamaRuntime => {
  const rt = createOllama({ host: server.url, ...over })
  runtimes.push(rt)
  return rt
}
const paths = (): string[] =>
  server.requests.map((r) => `${r.method} ${r.path.replace(/sha256:[0-9a-f]{64}/, 'sha256:<d>')}`)
const sha = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

/** prepare, bounded in time, with its progress collected */
async function prepare(
  rt: OllamaRuntime,
  spec: ModelSpec,
  signal?: AbortSignal,
  ms = 8_000,
): Promise<{ result: PreparedModel; progress: Progress[] }> {
  const progress: Progress[] = []
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    const result = await Promise.race([
      rt.prepare(spec, { ...(signal ? { signal } : {}), onProgress: (p) => progress.push(p) }),
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`prepare did not settle within ${ms} ms`)), ms)),
      ),
    ])
    return { result, progress }
  } finally {
    clearTimeout(timer)
  }
}

/** the MiradorError prepare rejects with (fails if it resolves or takes longer than `ms`) */
async function prepareError(
  rt: OllamaRuntime,
  spec: ModelSpec,
  signal?: AbortSignal,
  ms = 8_000,
): Promise<MiradorError> {
  const err = await prepare(rt, spec, signal, ms).then(
    (r) => new Error(`prepare resolved: ${JSON.stringify(r.result)}`),
    (e: unknown) => e,
  )
  if (!(err instanceof MiradorError)) throw err
  return err
}

/** a small GGUF-looking adapter file */
async function adapterFile(name = 'tone.gguf', text = 'tone v1'): Promise<{ path: string; content: Buffer }> {
  const content = Buffer.from('GGUF' + `${text} `.repeat(500), 'latin1')
  const path = join(dir, name)
  await writeFile(path, content)
  return { path, content }
}

describe('prepare a base model', () => {
  test('a present model is loaded with the keep_alive asked for; its size comes from /api/ps', async () => {
    const before = Date.now()
    const { result, progress } = await prepare(runtime(), { name: 'quick', base: 'llama3.2:1b', keepAlive: '10m' })
    expect(result).toEqual({ model: 'llama3.2:1b', sizeBytes: 3_000_000 })
    expect(paths()).toEqual(['POST /api/show', 'POST /api/generate', 'GET /api/ps'])
    expect(server.requests[1]!.body).toEqual({ model: 'llama3.2:1b', prompt: '', stream: false, keep_alive: '10m' })
    const loaded = server.loaded()
    expect(loaded.map((m) => m.name)).toEqual(['llama3.2:1b'])
    expect(loaded[0]!.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 600_000 - 1000)
    expect(loaded[0]!.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 600_000 + 1000)
    expect(progress).toEqual([])
  })

  test('without keepAlive no keep_alive is sent (Ollama keeps its default)', async () => {
    await prepare(runtime(), { name: 'quick', base: 'llama3.2:1b' })
    expect(server.requests[1]!.body).toEqual({ model: 'llama3.2:1b', prompt: '', stream: false })
  })

  test('an absent model is pulled with progress, then loaded', async () => {
    const { result, progress } = await prepare(runtime(), { name: 'deep', base: 'phi3:mini', keepAlive: 60 })
    expect(result).toEqual({ model: 'phi3:mini', sizeBytes: 6_000_000 })
    expect(paths()).toEqual(['POST /api/show', 'POST /api/pull', 'POST /api/generate', 'GET /api/ps'])
    const statuses = progress.map((p) => p.status.replace(/[0-9a-f]{12}$/, '<digest>'))
    expect(statuses[0]).toBe('pulling manifest')
    expect(statuses.slice(-3)).toEqual(['verifying sha256 digest', 'writing manifest', 'success'])
    const weights = progress.filter((p) => p.total === 6_000_000 - 1_500)
    expect(weights.map((p) => p.completed)).toEqual([undefined, 2_999_250, 5_998_500])
    expect(server.present()).toContain('phi3:mini')
    expect(server.loaded().map((m) => m.name)).toEqual(['phi3:mini'])
  })

  test('offline refuses with MODEL_MISSING and sends no pull', async () => {
    const err = await prepareError(runtime({ offline: true }), { name: 'deep', base: 'phi3:mini' })
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toBe(
      `model phi3:mini is not on the Ollama server at ${server.url} and --offline forbids pulling it; ` +
        'run `ollama pull phi3:mini`',
    )
    expect(paths()).toEqual(['POST /api/show'])
  })

  test('pull: false refuses with MODEL_MISSING too', async () => {
    const err = await prepareError(runtime({ pull: false }), { name: 'deep', base: 'phi3:mini' })
    expect([err.code, err.message]).toEqual([
      'MODEL_MISSING',
      `model phi3:mini is not on the Ollama server at ${server.url} and pulling is turned off for this runtime; ` +
        'run `ollama pull phi3:mini`',
    ])
    expect(paths()).toEqual(['POST /api/show'])
  })

  test("a model the registry does not have → MODEL_MISSING in Ollama's words, no load", async () => {
    const err = await prepareError(runtime(), { name: 'x', base: 'nosuch:1b' })
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toMatch(/^Ollama at .* could not pull nosuch:1b: pull model manifest: file does not exist\./)
    expect(paths()).toEqual(['POST /api/show', 'POST /api/pull'])
  })

  test('an unreachable server → RUNTIME_UNREACHABLE', async () => {
    const url = server.url
    await server.close()
    const err = await prepareError(createOllama({ host: url }), { name: 'quick', base: 'llama3.2:1b' })
    expect(err.code).toBe('RUNTIME_UNREACHABLE')
  })
})

describe('prepare with a LoRA adapter', () => {
  test('uploads the blob, creates the derived model from the base, loads it', async () => {
    const a = await adapterFile()
    const digest = sha(a.content)
    const { result, progress } = await prepare(runtime(), {
      name: 'Tone Coach',
      base: 'llama3.2:1b',
      adapters: [{ file: a.path }],
      keepAlive: '5m',
    })
    const name = derivedModelName('Tone Coach', 'llama3.2:1b', [{ name: 'tone.gguf', digest }])
    expect(name).toMatch(/^mirador-tone-coach:[0-9a-f]{12}$/)
    expect(result).toEqual({ model: name, sizeBytes: 3_000_000 + a.content.length })
    expect(paths()).toEqual([
      'POST /api/show', // the derived model: absent
      'POST /api/show', // the base: present
      'HEAD /api/blobs/sha256:<d>',
      'POST /api/blobs/sha256:<d>',
      'POST /api/create',
      'POST /api/generate',
      'GET /api/ps',
    ])
    expect(server.blobUploads).toEqual([{ digest, bytes: a.content.length, status: 201 }])
    expect(server.creates).toEqual([
      { model: name, from: 'llama3.2:1b', adapters: { 'tone.gguf': digest }, stream: true, outcome: 'success' },
    ])
    expect(server.loaded().map((m) => m.name)).toEqual([name])
    const statuses = progress.map((p) => p.status)
    expect(statuses[0]).toBe('hashing tone.gguf')
    expect(progress).toContainEqual({
      status: 'uploading tone.gguf',
      completed: a.content.length,
      total: a.content.length,
    })
    expect(statuses).toContain('parsing GGUF')
    expect(statuses.slice(-2)).toEqual(['writing manifest', 'success'])
  })

  test('created once per digest: a second prepare, even from a new runtime, uploads and creates nothing', async () => {
    const a = await adapterFile()
    const spec: ModelSpec = { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path, scale: 1 }] }
    const first = await prepare(runtime(), spec)
    const n = server.requests.length
    const again = await prepare(runtime(), spec)
    expect(again.result).toEqual(first.result)
    const later = server.requests.slice(n).map((r) => `${r.method} ${r.path}`)
    expect(later).toEqual(['POST /api/show', 'POST /api/generate', 'GET /api/ps'])
    const third = await prepare(createOllama({ host: server.url }), spec)
    expect(third.result.model).toBe(first.result.model)
    expect(server.blobUploads).toHaveLength(1)
    expect(server.creates).toHaveLength(1)
  })

  test('an existing derived model needs neither the base nor pulling (works offline)', async () => {
    const a = await adapterFile()
    const spec: ModelSpec = { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] }
    const first = await prepare(runtime(), spec)
    const { result } = await prepare(runtime({ offline: true }), spec)
    expect(result.model).toBe(first.result.model)
  })

  test('a blob Ollama already has is not sent again; only the model is created', async () => {
    const a = await adapterFile()
    server.addBlob(a.content)
    await prepare(runtime(), { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] })
    expect(server.blobUploads).toEqual([])
    expect(server.creates).toHaveLength(1)
    expect(paths().filter((p) => p.includes('/api/blobs/'))).toEqual(['HEAD /api/blobs/sha256:<d>'])
  })

  test('a changed adapter file gives a new digest, a new upload and a new derived model', async () => {
    const a = await adapterFile()
    const spec: ModelSpec = { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] }
    const v1 = await prepare(runtime(), spec)
    const b = await adapterFile('tone.gguf', 'tone v2')
    const v2 = await prepare(runtime(), spec)
    expect(v2.result.model).not.toBe(v1.result.model)
    expect(v2.result.model).toMatch(/^mirador-tone:[0-9a-f]{12}$/)
    expect(server.blobUploads.map((u) => u.digest)).toEqual([sha(a.content), sha(b.content)])
    expect(server.creates.map((c) => c.model)).toEqual([v1.result.model, v2.result.model])
    expect(server.present()).toEqual(expect.arrayContaining([v1.result.model, v2.result.model]))
  })

  test('the same adapter on another base is another model', async () => {
    server.addModel({ name: 'qwen2.5:7b', size: 4_000_000 })
    const a = await adapterFile()
    const one = await prepare(runtime(), { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] })
    const two = await prepare(runtime(), { name: 'tone', base: 'qwen2.5:7b', adapters: [{ file: a.path }] })
    expect(two.result.model).not.toBe(one.result.model)
    expect(server.blobUploads).toHaveLength(1)
    expect(server.creates.map((c) => c.from)).toEqual(['llama3.2:1b', 'qwen2.5:7b'])
  })

  test('the derived model replies differently from its base (the adapter took effect)', async () => {
    const a = await adapterFile()
    const rt = runtime()
    const { result } = await prepare(rt, { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] })
    const prompt = 'How should I phrase this email?'
    const base = texts(await collect(rt.generate({ model: 'llama3.2:1b', prompt, options: {} }))).join('')
    const derived = texts(await collect(rt.generate({ model: result.model, prompt, options: {} }))).join('')
    expect(base).toBe(defaultReply('llama3.2:1b', prompt))
    expect(derived).toBe(adaptedReply(defaultReply(result.model, prompt), ['tone.gguf']))
    expect(derived).not.toBe(base)
  })

  test('a base that is absent is pulled before the create; offline refuses before any upload', async () => {
    const a = await adapterFile()
    const spec: ModelSpec = { name: 'tone', base: 'phi3:mini', adapters: [{ file: a.path }] }
    const err = await prepareError(runtime({ offline: true }), spec)
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toMatch(/^model phi3:mini is not on the Ollama server .* --offline forbids pulling it/)
    expect(server.blobUploads).toEqual([])
    expect(server.creates).toEqual([])
    const { result } = await prepare(runtime(), spec)
    expect(paths().slice(-7)).toEqual([
      'POST /api/show',
      'POST /api/pull',
      'HEAD /api/blobs/sha256:<d>',
      'POST /api/blobs/sha256:<d>',
      'POST /api/create',
      'POST /api/generate',
      'GET /api/ps',
    ])
    expect(result.sizeBytes).toBe(6_000_000 + a.content.length)
  })

  test('a safetensors adapter directory sends its weights and adapter_config.json', async () => {
    const st = join(dir, 'lora')
    await mkdir(st)
    await writeFile(join(st, 'adapter_model.safetensors'), 'safetensors weights')
    await writeFile(join(st, 'adapter_config.json'), '{"lora_alpha": 16, "r": 8}')
    await writeFile(join(st, 'README.md'), 'not sent')
    const { result } = await prepare(runtime(), { name: 'st', base: 'llama3.2:1b', adapters: [{ file: st }] })
    expect(server.creates[0]!.adapters).toEqual({
      'adapter_model.safetensors': sha('safetensors weights'),
      'adapter_config.json': sha('{"lora_alpha": 16, "r": 8}'),
    })
    expect(server.blobUploads).toHaveLength(2)
    expect(result.model).toMatch(/^mirador-st:[0-9a-f]{12}$/)
  })

  test('a GGUF adapter without a .gguf name is sent as <name>.gguf (Ollama types files by suffix)', async () => {
    const a = await adapterFile('tone.lora')
    await prepare(runtime(), { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] })
    expect(server.creates[0]!.adapters).toEqual({ 'tone.lora.gguf': sha(a.content) })
  })

  test('scale 0 leaves the base unchanged: the base is prepared, nothing is created', async () => {
    const a = await adapterFile()
    const { result } = await prepare(runtime(), {
      name: 'tone',
      base: 'llama3.2:1b',
      adapters: [{ file: a.path, scale: 0 }],
    })
    expect(result.model).toBe('llama3.2:1b')
    expect(server.creates).toEqual([])
  })
})

describe('prepare refuses what Ollama cannot do, before any request', () => {
  test('a missing adapter file → MODEL_MISSING naming the file and the entry', async () => {
    const file = join(dir, 'nope.gguf')
    const err = await prepareError(runtime(), { name: 'tone', base: 'llama3.2:1b', adapters: [{ file }] })
    expect(err.code).toBe('MODEL_MISSING')
    expect(err.message).toBe(
      `The adapter ${file} of model entry "tone" does not exist. Check its path in models/manifest.yaml.`,
    )
    expect(err.details).toEqual({ entry: 'tone', file })
    expect(server.requests).toEqual([])
  })

  test('an adapter scale other than 0 or 1 → USAGE saying Ollama applies adapters at full strength', async () => {
    const a = await adapterFile()
    const err = await prepareError(runtime(), {
      name: 'tone',
      base: 'llama3.2:1b',
      adapters: [{ file: a.path, scale: 0.5 }],
    })
    expect(err.code).toBe('USAGE')
    expect(err.message).toContain(
      `Model entry "tone" asks for the adapter ${a.path} at scale 0.5, ` +
        'but Ollama applies adapters at full strength only.',
    )
    expect(server.requests).toEqual([])
  })

  test('two adapters → USAGE (Ollama takes one per model)', async () => {
    const a = await adapterFile('a.gguf')
    const b = await adapterFile('b.gguf', 'other')
    const err = await prepareError(runtime(), {
      name: 'tone',
      base: 'llama3.2:1b',
      adapters: [{ file: a.path }, { file: b.path }],
    })
    expect(err.code).toBe('USAGE')
    expect(err.message).toMatch(/lists 2 adapters, but Ollama applies one adapter per model/)
    expect(server.requests).toEqual([])
  })

  test('a file that is neither GGUF nor safetensors → USAGE', async () => {
    const path = join(dir, 'notes.txt')
    await writeFile(path, 'hello')
    const err = await prepareError(runtime(), { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: path }] })
    expect(err.code).toBe('USAGE')
    expect(err.message).toMatch(/is neither a GGUF file nor a \.safetensors file/)
    expect(server.requests).toEqual([])
  })

  test('an already-aborted signal → ABORTED, nothing sent', async () => {
    const err = await prepareError(runtime(), { name: 'quick', base: 'llama3.2:1b' }, AbortSignal.abort())
    expect(err.code).toBe('ABORTED')
    expect(server.requests).toEqual([])
  })
})

describe('failures while preparing', () => {
  test("a digest mismatch on upload is reported (RUNTIME_FAILED, Ollama's words), nothing is created", async () => {
    const a = await adapterFile()
    // something between Mirador and Ollama alters the file on its way
    const altering: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input)
      if (init?.method === 'POST' && url.includes('/api/blobs/'))
        return fetch(input, { ...init, body: 'tampered', duplex: 'half' } as RequestInit)
      return fetch(input, init)
    }
    const err = await prepareError(runtime({ fetch: altering }), {
      name: 'tone',
      base: 'llama3.2:1b',
      adapters: [{ file: a.path }],
    })
    expect(err.code).toBe('RUNTIME_FAILED')
    expect(err.message).toBe(
      `Ollama at ${server.url} rejected the adapter ${a.path} of model entry "tone": ` +
        `digest mismatch, expected "${sha(a.content)}", got "${sha('tampered')}". ` +
        'The file changed while it was being sent, or something between Mirador and Ollama altered it; try again.',
    )
    expect(server.blobUploads.map((u) => u.status)).toEqual([400])
    expect(server.creates).toEqual([])
  })

  /** a fetch whose blob uploads never get an answer: they end only when their signal fires */
  const stallingUploads: typeof fetch = async (input, init) => {
    const url = String(input instanceof Request ? input.url : input)
    if (init?.method !== 'POST' || !url.includes('/api/blobs/')) return fetch(input, init)
    return new Promise<Response>((_, reject) => {
      const signal = init.signal!
      if (signal.aborted) reject(signal.reason)
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }

  test('an upload that gets no answer → RUNTIME_TIMEOUT after idleTimeoutMs', async () => {
    const a = await adapterFile()
    const t0 = Date.now()
    const err = await prepareError(runtime({ fetch: stallingUploads, idleTimeoutMs: 200 }), {
      name: 'tone',
      base: 'llama3.2:1b',
      adapters: [{ file: a.path }],
    })
    expect(Date.now() - t0).toBeLessThan(2_000)
    expect(err.code).toBe('RUNTIME_TIMEOUT')
    expect(err.message).toBe(
      `Ollama at ${server.url} stopped making progress while receiving an adapter for tone: nothing for 200 ms. ` +
        "Check the server's log and free disk space, then try again, or raise the runtime's idleTimeoutMs.",
    )
    expect(server.creates).toEqual([])
  })

  test('abort during an upload ends promptly with ABORTED', async () => {
    const a = await adapterFile()
    const ac = new AbortController()
    let abortedAt = 0
    const err = await runtime({ fetch: stallingUploads })
      .prepare(
        { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] },
        {
          signal: ac.signal,
          onProgress: (p) => {
            if (p.status.startsWith('uploading') && !abortedAt) {
              abortedAt = Date.now()
              setTimeout(() => ac.abort(), 50)
            }
          },
        },
      )
      .catch((e: unknown) => e)
    expect(abortedAt).toBeGreaterThan(0)
    expect(Date.now() - abortedAt).toBeLessThan(600)
    expect(MiradorError.is(err, 'ABORTED')).toBe(true)
    expect(server.creates).toEqual([])
  })

  test("Ollama refusing the create → RUNTIME_FAILED in Ollama's words", async () => {
    const a = await adapterFile()
    server.setFault({ kind: 'http-error', status: 400, message: 'unsupported architecture', only: ['/api/create'] })
    const err = await prepareError(runtime(), { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] })
    expect(err.code).toBe('RUNTIME_FAILED')
    expect(err.message).toMatch(
      /^Ollama at .* could not create mirador-tone:[0-9a-f]{12} from llama3\.2:1b with the adapter tone\.gguf: unsupported architecture\.$/,
    )
  })

  test('a create that stalls → RUNTIME_TIMEOUT after idleTimeoutMs', async () => {
    const a = await adapterFile()
    server.setOptions({ createDelayMs: 5_000 })
    const t0 = Date.now()
    const err = await prepareError(runtime({ idleTimeoutMs: 200 }), {
      name: 'tone',
      base: 'llama3.2:1b',
      adapters: [{ file: a.path }],
    })
    expect(Date.now() - t0).toBeLessThan(2_000)
    expect(err.code).toBe('RUNTIME_TIMEOUT')
    expect(err.message).toMatch(/stopped making progress while creating mirador-tone:[0-9a-f]{12}: nothing for 200 ms/)
  })

  test('a load that never answers → RUNTIME_TIMEOUT after firstTokenTimeoutMs', async () => {
    server.setFault({ kind: 'hang', only: ['/api/generate'] })
    const t0 = Date.now()
    const err = await prepareError(runtime({ firstTokenTimeoutMs: 300 }), { name: 'quick', base: 'llama3.2:1b' })
    expect(Date.now() - t0).toBeLessThan(2_000)
    expect(err.code).toBe('RUNTIME_TIMEOUT')
    expect(err.message).toBe(
      `Ollama at ${server.url} did not finish loading llama3.2:1b within 300 ms. ` +
        'The model may be too big for this machine ' +
        "or the server is busy: check `ollama ps` and the server's log, or raise the runtime's firstTokenTimeoutMs.",
    )
  })

  test('abort during a pull ends promptly with ABORTED and closes the pull', async () => {
    server.setOptions({ pullDelayMs: 200 })
    const ac = new AbortController()
    const rt = runtime()
    let abortedAt = 0
    const p = rt.prepare(
      { name: 'deep', base: 'phi3:mini' },
      {
        signal: ac.signal,
        onProgress: () => {
          if (!abortedAt) {
            abortedAt = Date.now()
            ac.abort()
          }
        },
      },
    )
    const err = await p.catch((e: unknown) => e)
    expect(Date.now() - abortedAt).toBeLessThan(500)
    expect(MiradorError.is(err, 'ABORTED')).toBe(true)
    expect((err as Error).message).toBe('Cancelled while preparing deep (phi3:mini).')
    const pull = server.requests.find((r) => r.path === '/api/pull')!
    await until(() => pull.closed, 2000, 'the pull to close')
    expect(pull.aborted).toBe(true)
    expect(server.present()).not.toContain('phi3:mini')
  })

  test('an abort during a create → ABORTED promptly; a later prepare creates it without uploading again', async () => {
    const a = await adapterFile()
    server.setOptions({ createDelayMs: 200 })
    const spec: ModelSpec = { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }] }
    const ac = new AbortController()
    let abortedAt = 0
    const err = await runtime()
      .prepare(spec, {
        signal: ac.signal,
        onProgress: (p) => {
          if (p.status === 'parsing GGUF') {
            abortedAt = Date.now()
            ac.abort()
          }
        },
      })
      .catch((e: unknown) => e)
    expect(abortedAt).toBeGreaterThan(0)
    expect(Date.now() - abortedAt).toBeLessThan(500)
    expect(MiradorError.is(err, 'ABORTED')).toBe(true)
    const create = server.requests.find((r) => r.path === '/api/create')!
    await until(() => create.closed, 2000, 'the create to close')
    expect(create.aborted).toBe(true)
    expect(server.creates).toEqual([])

    server.setOptions({ createDelayMs: 0 })
    const { result } = await prepare(runtime(), spec)
    expect(server.present()).toContain(result.model)
    expect(server.blobUploads).toHaveLength(1)
    expect(server.creates).toHaveLength(1)
  })

  test('dispose() during a prepare ends it with ABORTED', async () => {
    server.setOptions({ pullDelayMs: 200 })
    const rt = createOllama({ host: server.url })
    const p = rt.prepare({ name: 'deep', base: 'phi3:mini' }).catch((e: unknown) => e)
    await until(() => server.requests.some((r) => r.path === '/api/pull'), 2000, 'the pull to start')
    await rt.dispose?.()
    const err = await p
    expect(MiradorError.is(err, 'ABORTED')).toBe(true)
  })
})

describe('unload and listLoaded', () => {
  test('listLoaded gives prepared models as {model, sizeBytes, expiresAt}; unload drops one from /api/ps', async () => {
    const a = await adapterFile()
    const rt = runtime()
    const base = await prepare(rt, { name: 'quick', base: 'llama3.2:1b', keepAlive: '10m' })
    const tone = await prepare(rt, { name: 'tone', base: 'llama3.2:1b', adapters: [{ file: a.path }], keepAlive: -1 })
    const loaded = await rt.listLoaded()
    expect(loaded).toEqual([
      { model: 'llama3.2:1b', sizeBytes: 3_000_000, expiresAt: expect.any(Date) },
      { model: tone.result.model, sizeBytes: 3_000_000 + a.content.length, expiresAt: expect.any(Date) },
    ])
    expect(loaded.map((m) => m.sizeBytes)).toEqual([base.result.sizeBytes, tone.result.sizeBytes])
    expect(loaded[1]!.expiresAt!.getTime()).toBeGreaterThan(Date.now() + 1e12)

    await rt.unload(tone.result.model)
    expect(server.requests.at(-1)!.body).toEqual({ model: tone.result.model, prompt: '', keep_alive: 0, stream: false })
    expect((await rt.listLoaded()).map((m) => m.model)).toEqual(['llama3.2:1b'])
    await rt.unload('llama3.2:1b')
    expect(await rt.listLoaded()).toEqual([])
  })

  test('keep_alive expiry shows in listLoaded', async () => {
    const rt = runtime()
    await prepare(rt, { name: 'quick', base: 'llama3.2:1b', keepAlive: 0.2 })
    expect((await rt.listLoaded()).map((m) => m.model)).toEqual(['llama3.2:1b'])
    await new Promise((r) => setTimeout(r, 300))
    expect(await rt.listLoaded()).toEqual([])
  })
})

describe('derived model names', () => {
  const files = [{ name: 'tone.gguf', digest: sha('x') }]

  test("follow Ollama's name rules and are stable", () => {
    expect(entrySlug('Tone Coach')).toBe('tone-coach')
    expect(entrySlug('__Fancy!!Name..v2')).toBe('fancy-name.v2')
    expect(entrySlug('日本語')).toBe('model')
    expect(entrySlug('x'.repeat(200))).toHaveLength(72)
    const name = derivedModelName('Tone Coach', 'llama3.2:1b', files)
    expect(name).toMatch(/^mirador-tone-coach:[0-9a-f]{12}$/)
    expect(derivedModelName('Tone Coach', 'llama3.2:1b', files)).toBe(name)
  })

  test('change with the base and the digests, not with the order of files', () => {
    const two = [
      { name: 'adapter_model.safetensors', digest: sha('w') },
      { name: 'adapter_config.json', digest: sha('c') },
    ]
    expect(derivedModelName('t', 'b:1', two)).toBe(derivedModelName('t', 'b:1', [...two].reverse()))
    expect(derivedModelName('t', 'b:1', files)).not.toBe(derivedModelName('t', 'b:2', files))
    expect(derivedModelName('t', 'b:1', files)).not.toBe(
      derivedModelName('t', 'b:1', [{ name: 'tone.gguf', digest: sha('y') }]),
    )
  })
})
