/**
 * A test double for the Ollama server: speaks Ollama's HTTP/NDJSON protocol on loopback so tests
 * (and benchmarks, through ollama-server-main.ts) can drive the real `ollama` npm client.
 *
 * What it mimics, after Ollama's docs/api.md and server source:
 * - GET / ("Ollama is running"), GET /api/version, GET /api/tags, GET /api/ps, POST /api/show,
 *   POST /api/chat, POST /api/generate, POST /api/embed, POST /api/embeddings (legacy),
 *   POST /api/pull (streamed progress or one object), DELETE /api/delete.
 * - Streams are `application/x-ndjson`, one JSON object a line, the last one `done: true` with
 *   `done_reason`, `eval_count`, `prompt_eval_count` and durations in nanoseconds. As in Ollama,
 *   response headers go out with the first token, not before (a slow model looks like a silent
 *   socket). `stream` defaults to true when the request does not say.
 * - Unknown models: 404 `{"error":"model \"x\" not found, try pulling it first"}` on chat, generate
 *   and embed; `/api/show` and `/api/delete` answer 404 `{"error":"model 'x' not found"}`.
 * - `logprobs: true` adds `logprobs: [{token, logprob, bytes, top_logprobs?}]` to each chunk
 *   (`top_logprobs` only when `top_logprobs > 0`, like Ollama's omitempty).
 * - `keep_alive` (seconds or a duration such as "5m"; 0 unloads after the request, negative keeps
 *   it forever) decides what `/api/ps` lists. An empty prompt/messages loads or unloads a model.
 *
 * Generation is deterministic: the reply is a fixed function of model and prompt (see
 * `defaultReply`), split by `tokenize` into word-ish tokens (" The", " answer", ","), each with the
 * logprob `tokenLogprob(model, index, token)` in [-2.5, -0.01]. Tests can compute exactly what a
 * generation will stream with `plannedTokens`.
 */
import http from 'node:http'
import { createHash } from 'node:crypto'
import type { AddressInfo, Socket } from 'node:net'

// ---------------------------------------------------------------------------------------------
// Public types

export interface TestModel {
  /** an Ollama tag; a name without a tag means `:latest` */
  name: string
  /** bytes on disk (and in memory once loaded); default derived from the name */
  size?: number
  /** false: listed in the registry only, so a pull can fetch it (default true) */
  present?: boolean
  /** the reply for a prompt, instead of `defaultReply` */
  reply?: (prompt: string) => string
  /** per-model token delay, overriding the server's `tokenDelayMs` */
  tokenDelayMs?: number
  family?: string
  parameterSize?: string
  quantization?: string
  contextLength?: number
  /** length of the vectors `/api/embed` returns (default 32) */
  embeddingLength?: number
}

/** `only` limits a fault to these paths (e.g. ['/api/pull']); see `faultApplies` for defaults. */
export type Fault =
  | { kind: 'drop-mid-stream'; afterTokens: number; only?: string[] }
  | { kind: 'malformed-line'; afterTokens: number; only?: string[] }
  | { kind: 'slow-first-token'; delayMs: number; only?: string[] }
  | { kind: 'http-error'; status: number; message: string; only?: string[] }
  | { kind: 'hang'; only?: string[] }

export interface OllamaTestServerOptions {
  /** default 0: any free port */
  port?: number
  /** default 127.0.0.1 */
  host?: string
  /** default: llama3.2:1b and qwen2.5:7b, both present */
  models?: TestModel[]
  /** pause between tokens (0 = as fast as possible; default 0) */
  tokenDelayMs?: number
  /** pause before the first token, as if the model were loading (default 0) */
  firstTokenDelayMs?: number
  /** emit exactly this many tokens (cycling the reply), instead of the reply's natural length */
  tokens?: number
  /** pause between pull progress lines (default 0) */
  pullDelayMs?: number
  /** progress lines per layer during a pull (default 3) */
  pullSteps?: number
  /** what `/api/version` answers (default 0.12.6) */
  version?: string
  fault?: Fault | null
}

export interface RecordedRequest {
  method: string
  path: string
  /** parsed JSON body (undefined when there was none; the raw text if it did not parse) */
  body: any
  /** Date.now() when the request arrived */
  time: number
  /** token (or progress) lines written so far */
  tokensSent: number
  /** the response was completely written */
  finished: boolean
  /** the connection of this request closed (normally or not) */
  closed: boolean
  /** closed before the response was finished: the client went away (abort) */
  aborted: boolean
  closedAt?: number
}

export interface LoadedModel {
  name: string
  size: number
  expiresAt: Date
}

export interface OllamaTestServer {
  readonly url: string
  readonly port: number
  /** every request, in arrival order */
  readonly requests: RecordedRequest[]
  setFault(fault: Fault | null): void
  /** changes timing/model options at run time (models are not replaced) */
  setOptions(options: Omit<OllamaTestServerOptions, 'port' | 'host' | 'models'>): void
  addModel(model: TestModel): void
  /** names of the models on disk (what /api/tags lists) */
  present(): string[]
  /** what /api/ps would list now */
  loaded(): LoadedModel[]
  /** connections open right now */
  connections(): number
  /** responses still being written (streams in flight, hung requests) */
  inFlight(): number
  /** stops the server and destroys open sockets, so nothing keeps the process alive */
  close(): Promise<void>
}

// ---------------------------------------------------------------------------------------------
// Deterministic generation (exported so tests can compute expectations)

/** FNV-1a, 32 bits */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** "llama3.2" → "llama3.2:latest" (Ollama's default tag) */
export function normalizeModelName(name: string): string {
  const n = name.trim()
  const last = n.slice(n.lastIndexOf('/') + 1)
  return last.includes(':') ? n : `${n}:latest`
}

/** Splits text into word-ish tokens that keep their leading whitespace: "The", " answer", "." */
export function tokenize(text: string): string[] {
  return text.match(/\s*[\p{L}\p{N}_']+|\s*[^\p{L}\p{N}_'\s]/gu) ?? []
}

const OPENERS = ['Here is a short answer.', 'Good question.', 'Let me think about that.', 'In brief:']

/** The default reply: a few sentences that name the model and quote the prompt's last words. */
export function defaultReply(model: string, prompt: string): string {
  const words = prompt.trim().split(/\s+/).filter(Boolean)
  const last = words.slice(-4).join(' ').replace(/[\s.?!,;:]+$/u, '') || 'nothing'
  const opener = OPENERS[hash32(`${model}\n${prompt}`) % OPENERS.length]
  return (
    `${opener} You asked about "${last}". The answer depends on the details, ` +
    `but ${model} would start with the basics and build from there. That is all for now.`
  )
}

/** The logprob of the token at `index`, in [-2.5, -0.01], rounded to 6 decimals. */
export function tokenLogprob(model: string, index: number, token: string): number {
  const h = hash32(`${model}#${index}#${token}`)
  return Math.round((-0.01 - (h / 0x100000000) * 2.49) * 1e6) / 1e6
}

export interface TokenPlan {
  tokens: string[]
  reason: 'stop' | 'length'
}

/**
 * What a generation streams: the reply's tokens, cycled or cut to `tokens` when given, then cut to
 * `numPredict` (done_reason 'length') when that is smaller. numPredict < 0 means no limit.
 */
export function plannedTokens(
  reply: string,
  opts: { tokens?: number | undefined; numPredict?: number | undefined } = {},
): TokenPlan {
  let tokens = tokenize(reply)
  if (opts.tokens !== undefined && tokens.length > 0) {
    const want = Math.max(0, Math.floor(opts.tokens))
    const out: string[] = []
    for (let i = 0; i < want; i++) {
      let t = tokens[i % tokens.length]!
      // when the reply starts again, it starts as a new word
      if (i >= tokens.length && i % tokens.length === 0 && !/^\s/.test(t)) t = ` ${t}`
      out.push(t)
    }
    tokens = out
  }
  const np = opts.numPredict
  if (np !== undefined && np >= 0 && np < tokens.length) return { tokens: tokens.slice(0, np), reason: 'length' }
  return { tokens, reason: 'stop' }
}

/** A bag-of-words embedding: similar texts get similar unit vectors. */
export function embedText(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0)
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = hash32(w)
    v[h % dims]! += (h >>> 16) & 1 ? 1 : -1
    const h2 = hash32(`${w}~`)
    v[h2 % dims]! += (h2 >>> 16) & 1 ? 0.5 : -0.5
  }
  const norm = Math.hypot(...v)
  if (norm === 0) {
    v[0] = 1
    return v
  }
  return v.map((x) => Math.round((x / norm) * 1e7) / 1e7)
}

/** A TCP port on 127.0.0.1 with no listener (bound, read, and released). */
export async function unusedPort(): Promise<number> {
  const srv = http.createServer()
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => resolve())
  })
  const port = (srv.address() as AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}

// ---------------------------------------------------------------------------------------------
// Server

interface ModelState {
  name: string
  size: number
  present: boolean
  digest: string
  modifiedAt: string
  spec: TestModel
}

interface Ctx {
  req: http.IncomingMessage
  res: http.ServerResponse
  rec: RecordedRequest
  /** aborted when the connection closes or the server stops */
  signal: AbortSignal
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

/** the models a server has when `models` is not given */
export const DEFAULT_MODELS: readonly TestModel[] = [
  { name: 'llama3.2:1b', size: 1_321_098_329, family: 'llama', parameterSize: '1.2B' },
  { name: 'qwen2.5:7b', size: 4_683_087_332, family: 'qwen2', parameterSize: '7.6B' },
]

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
const nowIso = (): string => new Date().toISOString()

/** Ollama durations: a number is seconds; strings like "5m", "10s", "1h30m", "-1"; default 5m. */
export function parseKeepAlive(v: unknown): number {
  if (v === undefined || v === null || v === '') return 5 * 60_000
  if (typeof v === 'number') return v < 0 ? Infinity : v * 1000
  const s = String(v).trim()
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    const n = Number(s)
    return n < 0 ? Infinity : n * 1000
  }
  if (s.startsWith('-')) return Infinity
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  let matched = ''
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * units[m[2]!]!
    matched += m[0]
  }
  if (matched !== s) throw new HttpFailure(400, `time: invalid duration "${s}"`)
  return total
}

function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (ms <= 0) return Promise.resolve(!signal.aborted)
  if (signal.aborted) return Promise.resolve(false)
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    const onAbort = (): void => {
      clearTimeout(t)
      resolve(false)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** writes and waits until the data is handed to the socket, so a drop after it loses nothing */
function writeFlushed(res: http.ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => {
    res.write(data, () => resolve())
  })
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.writableEnded) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  })
  res.end(text)
}

export async function startOllamaTestServer(opts: OllamaTestServerOptions = {}): Promise<OllamaTestServer> {
  const options: Required<Omit<OllamaTestServerOptions, 'port' | 'host' | 'models' | 'tokens' | 'fault'>> & {
    tokens?: number | undefined
  } = {
    tokenDelayMs: opts.tokenDelayMs ?? 0,
    firstTokenDelayMs: opts.firstTokenDelayMs ?? 0,
    tokens: opts.tokens,
    pullDelayMs: opts.pullDelayMs ?? 0,
    pullSteps: opts.pullSteps ?? 3,
    version: opts.version ?? '0.12.6',
  }
  let fault: Fault | null = opts.fault ?? null
  const models = new Map<string, ModelState>()
  const loaded = new Map<string, { expiresAt: number }>()
  const requests: RecordedRequest[] = []
  const sockets = new Set<Socket>()
  const inFlight = new Set<Ctx>()
  const stopping = new AbortController()

  const addModel = (m: TestModel): void => {
    const name = normalizeModelName(m.name)
    models.set(name, {
      name,
      size: m.size ?? 500_000_000 + (hash32(name) % 4_000_000_000),
      present: m.present ?? true,
      digest: sha256(`${name}/manifest`),
      modifiedAt: nowIso(),
      spec: m,
    })
  }
  for (const m of opts.models ?? DEFAULT_MODELS) addModel(m)

  const find = (name: unknown): ModelState | undefined =>
    typeof name === 'string' && name.trim() ? models.get(normalizeModelName(name)) : undefined
  const presentModel = (name: unknown): ModelState | undefined => {
    const m = find(name)
    return m?.present ? m : undefined
  }
  const notFound = (name: unknown): HttpFailure =>
    new HttpFailure(404, `model ${JSON.stringify(String(name))} not found, try pulling it first`)

  const isLoaded = (name: string): boolean => {
    const e = loaded.get(name)
    if (!e) return false
    if (e.expiresAt <= Date.now()) {
      loaded.delete(name)
      return false
    }
    return true
  }
  const touch = (m: ModelState, keepAlive: unknown): { loadNs: number } => {
    const ms = parseKeepAlive(keepAlive)
    const was = isLoaded(m.name)
    loaded.set(m.name, { expiresAt: Date.now() + ms })
    return { loadNs: was ? 0 : 1_000_000 + (hash32(m.name) % 50_000_000) }
  }
  /** keep_alive 0: Ollama unloads when the request is done */
  const release = (m: ModelState): void => {
    const e = loaded.get(m.name)
    if (e && e.expiresAt <= Date.now()) loaded.delete(m.name)
  }

  const details = (m: ModelState): Record<string, unknown> => {
    const family = m.spec.family ?? 'llama'
    return {
      parent_model: '',
      format: 'gguf',
      family,
      families: [family],
      parameter_size: m.spec.parameterSize ?? '1B',
      quantization_level: m.spec.quantization ?? 'Q4_K_M',
    }
  }

  const faultFor = (path: string): Fault | null => {
    if (!fault) return null
    if (fault.only) return fault.only.includes(path) ? fault : null
    switch (fault.kind) {
      case 'http-error':
      case 'hang':
        return path.startsWith('/api/') ? fault : null
      default:
        return path === '/api/chat' || path === '/api/generate' ? fault : null
    }
  }

  // -- handlers ------------------------------------------------------------------------------

  async function generation(ctx: Ctx, kind: 'chat' | 'generate'): Promise<void> {
    const body = (ctx.rec.body ?? {}) as Record<string, any>
    if (typeof body !== 'object' || Array.isArray(body)) throw new HttpFailure(400, 'invalid request body')
    if (!body.model) throw new HttpFailure(400, 'model is required')
    const m = presentModel(body.model)
    if (!m) throw notFound(body.model)
    const stream = body.stream !== false
    const started = process.hrtime.bigint()

    let prompt: string
    let promptTokens: number
    if (kind === 'chat') {
      const messages: Array<{ role?: string; content?: string }> = Array.isArray(body.messages) ? body.messages : []
      if (messages.length === 0) return loadOrUnload(ctx, m, kind, body)
      const lastUser = [...messages].reverse().find((x) => x.role === 'user') ?? messages[messages.length - 1]!
      prompt = String(lastUser.content ?? '')
      promptTokens = messages.reduce((n, x) => n + tokenize(String(x.content ?? '')).length + 3, 1)
    } else {
      if (!body.prompt) return loadOrUnload(ctx, m, kind, body)
      prompt = String(body.prompt)
      promptTokens = tokenize(String(body.system ?? '')).length + tokenize(prompt).length + 4
    }

    const { loadNs } = touch(m, body.keep_alive)
    const reply = m.spec.reply ? m.spec.reply(prompt) : defaultReply(m.name, prompt)
    const numPredict = typeof body.options?.num_predict === 'number' ? body.options.num_predict : undefined
    const plan = plannedTokens(reply, { tokens: options.tokens, numPredict })
    const wantLogprobs = body.logprobs === true
    const topN = typeof body.top_logprobs === 'number' ? Math.max(0, Math.min(20, body.top_logprobs)) : 0
    const tokenDelay = m.spec.tokenDelayMs ?? options.tokenDelayMs
    const f = faultFor(ctx.rec.path)
    const firstDelay = options.firstTokenDelayMs + (f?.kind === 'slow-first-token' ? f.delayMs : 0)

    const logprobEntry = (i: number, token: string): Record<string, unknown> => {
      const logprob = tokenLogprob(m.name, i, token)
      const entry: Record<string, unknown> = { token, logprob, bytes: [...Buffer.from(token, 'utf8')] }
      if (topN > 0) {
        const alts = [{ token, logprob }]
        for (let k = 1; k < topN; k++) {
          const alt = ` alt${k}`
          alts.push({ token: alt, logprob: Math.round((logprob - 0.5 * k - (hash32(alt + i) % 100) / 100) * 1e6) / 1e6 })
        }
        entry.top_logprobs = alts
      }
      return entry
    }
    const piece = (text: string, i: number | null, done: boolean): Record<string, unknown> => {
      const o: Record<string, unknown> = { model: body.model, created_at: nowIso() }
      if (kind === 'chat') o.message = { role: 'assistant', content: text }
      else o.response = text
      o.done = done
      if (wantLogprobs && i !== null) o.logprobs = [logprobEntry(i, text)]
      return o
    }
    let firstTokenAt: bigint | undefined
    const final = (full: string): Record<string, unknown> => {
      const end = process.hrtime.bigint()
      const o = piece(full, null, true)
      if (!stream && wantLogprobs) o.logprobs = plan.tokens.map((t, i) => logprobEntry(i, t))
      o.done_reason = plan.reason
      if (kind === 'generate' && !body.raw) o.context = plan.tokens.slice(0, 8).map((t) => hash32(t) % 128_000)
      Object.assign(o, {
        total_duration: Number(end - started),
        load_duration: loadNs,
        prompt_eval_count: promptTokens,
        prompt_eval_duration: 1_000_000 + promptTokens * 50_000,
        eval_count: plan.tokens.length,
        eval_duration: Number(end - (firstTokenAt ?? end)) || plan.tokens.length * 1_000_000,
      })
      return o
    }

    if (!stream) {
      if (!(await sleep(firstDelay + tokenDelay * Math.max(0, plan.tokens.length - 1), ctx.signal))) return
      if (f?.kind === 'drop-mid-stream') return void ctx.req.socket.destroy()
      if (f?.kind === 'malformed-line') {
        ctx.res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' })
        ctx.res.end('{"model": this is not JSON')
        return
      }
      firstTokenAt = process.hrtime.bigint()
      sendJson(ctx.res, 200, final(plan.tokens.join('')))
      release(m)
      return
    }

    ctx.res.writeHead(200, { 'Content-Type': 'application/x-ndjson' })
    if (!(await sleep(firstDelay, ctx.signal))) return
    for (let i = 0; i <= plan.tokens.length; i++) {
      if (f && (f.kind === 'drop-mid-stream' || f.kind === 'malformed-line') && f.afterTokens === i) {
        if (f.kind === 'drop-mid-stream') {
          if (i === 0) ctx.res.flushHeaders()
          await sleep(5, ctx.signal)
          ctx.req.socket.destroy()
          return
        }
        await writeFlushed(ctx.res, 'this is not JSON {"done":\n')
      }
      if (i === plan.tokens.length) break
      if (i > 0 && !(await sleep(tokenDelay, ctx.signal))) return
      if (ctx.signal.aborted) return
      const tok = plan.tokens[i]!
      firstTokenAt ??= process.hrtime.bigint()
      await writeFlushed(ctx.res, JSON.stringify(piece(tok, i, false)) + '\n')
      ctx.rec.tokensSent++
    }
    if (ctx.signal.aborted) return
    ctx.res.end(JSON.stringify(final('')) + '\n')
    release(m)
  }

  function loadOrUnload(ctx: Ctx, m: ModelState, kind: 'chat' | 'generate', body: Record<string, any>): void {
    const unload = body.keep_alive !== undefined && parseKeepAlive(body.keep_alive) === 0
    if (unload) loaded.delete(m.name)
    else touch(m, body.keep_alive)
    const o: Record<string, unknown> = { model: body.model, created_at: nowIso() }
    if (kind === 'chat') o.message = { role: 'assistant', content: '' }
    else o.response = ''
    o.done_reason = unload ? 'unload' : 'load'
    o.done = true
    sendJson(ctx.res, 200, o)
  }

  async function pull(ctx: Ctx): Promise<void> {
    const body = (ctx.rec.body ?? {}) as Record<string, any>
    const name = body.model ?? body.name
    if (!name) throw new HttpFailure(400, 'model is required')
    const stream = body.stream !== false
    const m = find(name)
    const f = faultFor(ctx.rec.path)
    if (!m) {
      const msg = 'pull model manifest: file does not exist'
      if (!stream) throw new HttpFailure(500, msg)
      ctx.res.writeHead(200, { 'Content-Type': 'application/x-ndjson' })
      await writeFlushed(ctx.res, JSON.stringify({ status: 'pulling manifest' }) + '\n')
      ctx.res.end(JSON.stringify({ error: msg }) + '\n')
      return
    }
    const layers = [
      { digest: `sha256:${sha256(`${m.name}/weights`)}`, total: m.size - 1_500 },
      { digest: `sha256:${sha256(`${m.name}/template`)}`, total: 1_429 },
      { digest: `sha256:${sha256(`${m.name}/params`)}`, total: 71 },
    ]
    const lines: Array<Record<string, unknown>> = [{ status: 'pulling manifest' }]
    for (const l of layers) {
      const status = `pulling ${l.digest.slice(7, 19)}`
      if (m.present) {
        lines.push({ status, digest: l.digest, total: l.total, completed: l.total })
        continue
      }
      lines.push({ status, digest: l.digest, total: l.total })
      const steps = Math.max(1, options.pullSteps)
      for (let k = 1; k <= steps; k++) {
        lines.push({ status, digest: l.digest, total: l.total, completed: Math.round((l.total * k) / steps) })
      }
    }
    lines.push({ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' })

    if (!stream) {
      if (!(await sleep(options.pullDelayMs * lines.length, ctx.signal))) return
      m.present = true
      m.modifiedAt = nowIso()
      sendJson(ctx.res, 200, { status: 'success' })
      return
    }
    ctx.res.writeHead(200, { 'Content-Type': 'application/x-ndjson' })
    for (let i = 0; i < lines.length; i++) {
      if (f && (f.kind === 'drop-mid-stream' || f.kind === 'malformed-line') && f.afterTokens === i) {
        if (f.kind === 'drop-mid-stream') {
          if (i === 0) ctx.res.flushHeaders()
          await sleep(5, ctx.signal)
          ctx.req.socket.destroy()
          return
        }
        await writeFlushed(ctx.res, 'not json at all\n')
      }
      if (i > 0 && !(await sleep(options.pullDelayMs, ctx.signal))) return
      if (ctx.signal.aborted) return
      const line = lines[i]!
      if (line.status === 'success') {
        m.present = true
        m.modifiedAt = nowIso()
      }
      await writeFlushed(ctx.res, JSON.stringify(line) + '\n')
      ctx.rec.tokensSent++
    }
    ctx.res.end()
  }

  function embed(ctx: Ctx, legacy: boolean): void {
    const body = (ctx.rec.body ?? {}) as Record<string, any>
    if (!body.model) throw new HttpFailure(400, 'model is required')
    const m = presentModel(body.model)
    if (!m) throw notFound(body.model)
    const { loadNs } = touch(m, body.keep_alive)
    const dims = m.spec.embeddingLength ?? 32
    if (legacy) {
      sendJson(ctx.res, 200, { embedding: embedText(String(body.prompt ?? ''), dims) })
      release(m)
      return
    }
    const inputs: string[] = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')]
    const d = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.min(dims, body.dimensions) : dims
    const embeddings = inputs.map((t) => {
      const v = embedText(t, dims).slice(0, d)
      const n = Math.hypot(...v) || 1
      return d === dims ? v : v.map((x) => x / n)
    })
    sendJson(ctx.res, 200, {
      model: body.model,
      embeddings,
      total_duration: 2_000_000 + loadNs,
      load_duration: loadNs,
      prompt_eval_count: inputs.reduce((n, t) => n + tokenize(t).length, 0),
    })
    release(m)
  }

  function show(ctx: Ctx): void {
    const body = (ctx.rec.body ?? {}) as Record<string, any>
    const name = body.model ?? body.name
    if (!name) throw new HttpFailure(400, 'model is required')
    const m = presentModel(name)
    if (!m) throw new HttpFailure(404, `model '${name}' not found`)
    const family = m.spec.family ?? 'llama'
    sendJson(ctx.res, 200, {
      license: 'Test license',
      modelfile: `# Modelfile generated by "ollama show"\nFROM ${m.name}\nTEMPLATE """{{ .Prompt }}"""\n`,
      parameters: 'stop                           "<|eot_id|>"',
      template: '{{ if .System }}{{ .System }}\n{{ end }}{{ .Prompt }}',
      details: details(m),
      model_info: {
        'general.architecture': family,
        'general.parameter_count': Math.round(m.size * 1.8),
        [`${family}.context_length`]: m.spec.contextLength ?? 131_072,
        [`${family}.embedding_length`]: m.spec.embeddingLength ?? 2048,
      },
      capabilities: ['completion'],
      modified_at: m.modifiedAt,
    })
  }

  function del(ctx: Ctx): void {
    const body = (ctx.rec.body ?? {}) as Record<string, any>
    const name = body.model ?? body.name
    if (!name) throw new HttpFailure(400, 'model is required')
    const m = presentModel(name)
    if (!m) throw new HttpFailure(404, `model '${name}' not found`)
    m.present = false
    loaded.delete(m.name)
    ctx.res.writeHead(200, { 'Content-Length': 0 })
    ctx.res.end()
  }

  const tagEntry = (m: ModelState): Record<string, unknown> => ({
    name: m.name,
    model: m.name,
    modified_at: m.modifiedAt,
    size: m.size,
    digest: m.digest,
    details: details(m),
  })

  const loadedList = (): LoadedModel[] =>
    [...models.values()]
      .filter((m) => isLoaded(m.name))
      .map((m) => ({ name: m.name, size: m.size, expiresAt: new Date(Math.min(loaded.get(m.name)!.expiresAt, 8.64e15)) }))

  async function route(ctx: Ctx): Promise<void> {
    const { method, path } = ctx.rec
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
      ctx.res.end(method === 'HEAD' ? undefined : 'Ollama is running')
      return
    }
    const f = faultFor(path)
    if (f?.kind === 'hang') return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()))
    if (f?.kind === 'http-error') throw new HttpFailure(f.status, f.message)
    const key = `${method} ${path}`
    switch (key) {
      case 'GET /api/version':
        return sendJson(ctx.res, 200, { version: options.version })
      case 'GET /api/tags':
        return sendJson(ctx.res, 200, { models: [...models.values()].filter((m) => m.present).map(tagEntry) })
      case 'GET /api/ps':
        return sendJson(ctx.res, 200, {
          models: loadedList().map((l) => {
            const m = models.get(l.name)!
            return {
              ...tagEntry(m),
              expires_at: l.expiresAt.toISOString(),
              size_vram: 0,
              context_length: 4096,
            }
          }),
        })
      case 'POST /api/show':
        return show(ctx)
      case 'POST /api/chat':
        return generation(ctx, 'chat')
      case 'POST /api/generate':
        return generation(ctx, 'generate')
      case 'POST /api/embed':
        return embed(ctx, false)
      case 'POST /api/embeddings':
        return embed(ctx, true)
      case 'POST /api/pull':
        return pull(ctx)
      case 'DELETE /api/delete':
        return del(ctx)
    }
    if (['/api/version', '/api/tags', '/api/ps', '/api/show', '/api/chat', '/api/generate', '/api/embed', '/api/embeddings', '/api/pull', '/api/delete'].includes(path)) {
      ctx.res.writeHead(405, { 'Content-Type': 'text/plain' })
      ctx.res.end('405 method not allowed')
      return
    }
    ctx.res.writeHead(404, { 'Content-Type': 'text/plain' })
    ctx.res.end('404 page not found')
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown
      let badJson: string | undefined
      if (text.trim()) {
        try {
          body = JSON.parse(text)
        } catch (err) {
          body = text
          badJson = (err as Error).message
        }
      }
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: (req.url ?? '/').split('?')[0]!,
        body,
        time: Date.now(),
        tokensSent: 0,
        finished: false,
        closed: false,
        aborted: false,
      }
      requests.push(rec)
      const ac = new AbortController()
      const onStop = (): void => ac.abort()
      stopping.signal.addEventListener('abort', onStop, { once: true })
      const ctx: Ctx = { req, res, rec, signal: ac.signal }
      inFlight.add(ctx)
      res.on('finish', () => {
        rec.finished = true
      })
      res.on('close', () => {
        rec.closed = true
        rec.closedAt = Date.now()
        rec.aborted = !rec.finished
        inFlight.delete(ctx)
        stopping.signal.removeEventListener('abort', onStop)
        ac.abort()
      })
      const run = badJson
        ? Promise.reject(new HttpFailure(400, `invalid character in request body: ${badJson}`))
        : route(ctx)
      run.catch((err: unknown) => {
        const status = err instanceof HttpFailure ? err.status : 500
        const message = err instanceof Error ? err.message : String(err)
        if (!res.headersSent) sendJson(res, status, { error: message })
        else if (!res.writableEnded && !res.destroyed) res.end(JSON.stringify({ error: message }) + '\n')
      })
    })
  })
  server.on('connection', (s: Socket) => {
    sockets.add(s)
    s.on('close', () => sockets.delete(s))
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  let closed: Promise<void> | undefined

  return {
    url: `http://${hostForUrl}:${addr.port}`,
    port: addr.port,
    requests,
    setFault(f) {
      fault = f
    },
    setOptions(o) {
      for (const [k, v] of Object.entries(o)) {
        if (k !== 'fault' && (v !== undefined || k === 'tokens')) (options as Record<string, unknown>)[k] = v
      }
      if ('fault' in o) fault = o.fault ?? null
    },
    addModel,
    present: () => [...models.values()].filter((m) => m.present).map((m) => m.name),
    loaded: loadedList,
    connections: () => sockets.size,
    inFlight: () => inFlight.size,
    close() {
      closed ??= (async () => {
        stopping.abort()
        const done = new Promise<void>((resolve) => server.close(() => resolve()))
        const gone = [...sockets].map((s) => (s.closed ? null : new Promise((r) => s.once('close', r))))
        for (const s of sockets) s.destroy()
        await Promise.all([done, ...gone])
      })()
      return closed
    },
  }
}
