/**
 * A test double for the Ollama server: speaks Ollama's HTTP/NDJSON protocol on loopback so tests
 * (and benchmarks, through ollama-server-main.ts) can drive the real `ollama` npm client.
 *
 * What it mimics, after Ollama's docs/api.md and server source:
 * - GET / ("Ollama is running"), GET /api/version, GET /api/tags, GET /api/ps, POST /api/show,
 *   POST /api/chat, POST /api/generate, POST /api/embed, POST /api/embeddings (legacy),
 *   POST /api/pull (streamed progress or one object), DELETE /api/delete,
 *   HEAD /api/blobs/:digest (200 stored, 404 not), POST /api/blobs/:digest (201 stored; 200 when
 *   it already was, body ignored; 400 `digest mismatch, expected "…", got "…"`), and
 *   POST /api/create with `from` and `adapters` (a map of file name → "sha256:<hex>").
 * - Streams are `application/x-ndjson`, one JSON object a line, the last one `done: true` with
 *   `done_reason`, `eval_count`, `prompt_eval_count` and durations in nanoseconds. As in Ollama,
 *   response headers go out with the first token, not before (a slow model looks like a silent
 *   socket). `stream` defaults to true when the request does not say.
 * - Unknown models: 404 `{"error":"model \"x\" not found, try pulling it first"}` on chat, generate
 *   and embed; `/api/show` and `/api/delete` answer 404 `{"error":"model 'x' not found"}`.
 * - `logprobs: true` adds `logprobs: [{token, logprob, bytes, top_logprobs?}]` to each chunk
 *   (`top_logprobs` only when `top_logprobs > 0`, like Ollama's omitempty).
 * - `keep_alive` (seconds or a duration such as "5m"; 0 unloads after the request, negative keeps
 *   it forever) decides what `/api/ps` lists. An empty prompt/messages loads the model (one JSON
 *   object, `done_reason: "load"`, no tokens) or, with keep_alive 0, unloads it ("unload").
 * - Create, after Ollama's server/create.go: the name must be valid (400 "invalid model name");
 *   `from` is required here (400 "neither 'from' or 'files' was specified"; importing GGUF
 *   `files` is not mimicked) and must be present: real Ollama would pull a missing `from`, this
 *   double answers 404 `model "x" not found, try pulling it first` (Mirador pulls the base itself,
 *   under its own offline rules, before it creates). Each adapter digest must be a stored blob
 *   (400 `open …/blobs/sha256-…: no such file or directory`); adapter files are typed by suffix
 *   (.gguf/.bin or .safetensors, else 400 "unknown type") and only one GGUF adapter is allowed
 *   (400 "only one adapter is currently supported"). It streams "parsing GGUF" (or "converting
 *   adapter"), "using existing layer sha256:…" per base layer, "creating new layer sha256:…" per
 *   adapter, "writing manifest", "success" (`createDelayMs` apart), or one `{"status":"success"}`
 *   with `stream: false`. The new model is in /api/tags as big as its base plus its adapters, and
 *   replies like its base marked by its adapters (`adaptedReply`). A create over an existing name
 *   replaces that model, as in Ollama.
 *
 * Generation is deterministic: the reply is a fixed function of model and prompt (see
 * `defaultReply`), split by `tokenize` into word-ish tokens (" The", " answer", ","), each with the
 * logprob `tokenLogprob(model, index, token)` in [-2.5, -0.01]. Tests can compute exactly what a
 * generation will stream with `plannedTokens`.
 *
 * Tools on /api/chat, as Ollama does them: a request may offer `tools: [{type: 'function',
 * function: {name, description, parameters}}]`, and the reply may then be tool calls. Streamed,
 * that is the text of `toolCallText` if set (token by token), then one chunk whose
 * `message.tool_calls` holds the calls (`[{function: {name, arguments}}]`, plus `id` and
 * `function.index` when the `toolCalls` option gives them) with empty content, then the final
 * done chunk (done_reason "stop"); with `stream: false`, one object holding both. Which calls:
 * - the `toolCalls` option, when set, decides (non-empty list → calls, [] → text, undefined → the
 *   default rule below); it is asked only when tools are offered;
 * - the default rule: when the last user message holds `CALL <tool_name> <json-args>` directives
 *   (`toolDirectives`), no `tool` message follows it yet, and tools of those names are offered,
 *   the reply calls them, in order (directives naming tools not offered are ignored). Without
 *   tools offered, a directive is plain text and the reply is the usual one.
 * Structured output: a request with `format` ('json' or a JSON Schema) and a model without its own
 * `reply` gets JSON (`formatReply`), as Ollama's constrained generation would give.
 *
 * Once `tool` messages follow the last user message, the text reply quotes each of them:
 * `The tool <tool_name> said: <content>.` (`toolResultReply`), so a test can see the answers
 * reached the model. Requests are recorded as sent, so tests can check the assistant
 * `tool_calls` message and the `tool` messages of the second round.
 *
 * This file holds the routes; the parts are in ollama-server-types.ts (public types),
 * ollama-generation.ts (deterministic generation), ollama-models.ts (models on disk and loaded)
 * and ollama-http.ts (HTTP plumbing and stream faults). Everything is re-exported from here.
 */
import http from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createHash } from 'node:crypto'
import {
  adaptedReply,
  defaultReply,
  embedText,
  formatReply,
  hash32,
  plannedTokens,
  tokenize,
  tokenLogprob,
  toolDirectives,
  toolResultReply,
} from './ollama-generation.js'
import { HttpFailure, parseKeepAlive, sendJson, sleep, streamFault, writeFlushed, type Ctx } from './ollama-http.js'
import { createModelStore, DEFAULT_MODELS, nowIso, sha256, type ModelState } from './ollama-models.js'
import type {
  BlobUpload,
  ChatMessage,
  ChatRequestBody,
  CreateRecord,
  Fault,
  OllamaTestServer,
  OllamaTestServerOptions,
  RecordedRequest,
  TestToolCall,
} from './ollama-server-types.js'

// tests and benchmarks import everything from this file
export type {
  BlobUpload,
  ChatMessage,
  ChatRequestBody,
  ChatTool,
  CreateRecord,
  Fault,
  LoadedModel,
  OllamaTestServer,
  OllamaTestServerOptions,
  RecordedRequest,
  TestModel,
  TestToolCall,
} from './ollama-server-types.js'
export {
  adaptedReply,
  defaultReply,
  embedText,
  formatReply,
  hash32,
  normalizeModelName,
  plannedTokens,
  tokenize,
  tokenLogprob,
  toolDirectives,
  toolResultReply,
  type TokenPlan,
  type ToolDirective,
} from './ollama-generation.js'
export { parseKeepAlive, unusedPort } from './ollama-http.js'
export { DEFAULT_MODELS } from './ollama-models.js'

export async function startOllamaTestServer(opts: OllamaTestServerOptions = {}): Promise<OllamaTestServer> {
  const options: Required<
    Omit<OllamaTestServerOptions, 'port' | 'host' | 'models' | 'tokens' | 'fault' | 'toolCalls' | 'toolCallText'>
  > &
    Pick<OllamaTestServerOptions, 'toolCalls' | 'toolCallText'> & {
      tokens?: number | undefined
    } = {
    tokenDelayMs: opts.tokenDelayMs ?? 0,
    firstTokenDelayMs: opts.firstTokenDelayMs ?? 0,
    tokens: opts.tokens,
    pullDelayMs: opts.pullDelayMs ?? 0,
    pullSteps: opts.pullSteps ?? 3,
    createDelayMs: opts.createDelayMs ?? 0,
    version: opts.version ?? '0.12.6',
    toolCalls: opts.toolCalls,
    toolCallText: opts.toolCallText,
  }
  let fault: Fault | null = opts.fault ?? null
  const {
    addModel,
    createDerived,
    find,
    presentModel,
    touch,
    release,
    unload: unloadModel,
    details,
    tagEntry,
    loadedList,
    presentModels,
    byName,
  } = createModelStore(opts.models ?? DEFAULT_MODELS)
  const requests: RecordedRequest[] = []
  /** the blob store: "sha256:<hex>" → content */
  const blobStore = new Map<string, Buffer>()
  const blobUploads: BlobUpload[] = []
  const creates: CreateRecord[] = []
  const sockets = new Set<Socket>()
  const inFlight = new Set<Ctx>()
  const stopping = new AbortController()

  const notFound = (name: unknown): HttpFailure =>
    new HttpFailure(404, `model ${JSON.stringify(String(name))} not found, try pulling it first`)

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

  // -- tools -----------------------------------------------------------------------------------

  /** the names of the tools a chat request offers */
  const offeredTools = (body: Record<string, any>): string[] =>
    Array.isArray(body.tools)
      ? body.tools.flatMap((t: any) => (typeof t?.function?.name === 'string' ? [t.function.name as string] : []))
      : []

  /** the calls a chat reply makes: the `toolCalls` option, else the `CALL` directives (none without tools) */
  function chatToolCalls(
    body: Record<string, any>,
    messages: ChatMessage[],
    lastUser: number,
    answered: boolean,
  ): TestToolCall[] {
    const offered = offeredTools(body)
    if (offered.length === 0) return []
    const chosen = options.toolCalls?.(body as ChatRequestBody)
    if (chosen !== undefined) return chosen
    if (answered || lastUser < 0) return []
    return toolDirectives(String(messages[lastUser]!.content ?? '')).filter((d) => offered.includes(d.name))
  }

  /** a call as Ollama writes it in `message.tool_calls` */
  const wireCall = (c: TestToolCall): Record<string, unknown> => ({
    ...(c.id !== undefined ? { id: c.id } : {}),
    function: { ...(c.index !== undefined ? { index: c.index } : {}), name: c.name, arguments: c.arguments },
  })

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
    /** the tools' answers after the last user message */
    let toolResults: Array<{ name: string; content: string }> = []
    let calls: TestToolCall[] = []
    if (kind === 'chat') {
      const messages: ChatMessage[] = Array.isArray(body.messages) ? body.messages : []
      if (messages.length === 0) return loadOrUnload(ctx, m, kind, body)
      const lastUser = messages.map((x) => x.role).lastIndexOf('user')
      prompt = String((messages[lastUser] ?? messages[messages.length - 1]!).content ?? '')
      promptTokens = messages.reduce((n, x) => n + tokenize(String(x.content ?? '')).length + 3, 1)
      toolResults = messages
        .slice(lastUser + 1)
        .filter((x) => x.role === 'tool')
        .map((x) => ({ name: String(x.tool_name ?? 'unknown'), content: String(x.content ?? '') }))
      calls = chatToolCalls(body, messages, lastUser, toolResults.length > 0)
    } else {
      if (!body.prompt) return loadOrUnload(ctx, m, kind, body)
      prompt = String(body.prompt)
      promptTokens = tokenize(String(body.system ?? '')).length + tokenize(prompt).length + 4
    }

    const { loadNs } = touch(m, body.keep_alive)
    const own =
      toolResults.length > 0
        ? toolResultReply(toolResults)
        : m.spec.reply
          ? m.spec.reply(prompt)
          : body.format !== undefined
            ? formatReply(defaultReply(m.name, prompt), body.format)
            : defaultReply(m.name, prompt)
    const reply = m.adapters
      ? adaptedReply(
          own,
          m.adapters.map((a) => a.name),
        )
      : own
    const numPredict = typeof body.options?.num_predict === 'number' ? body.options.num_predict : undefined
    // a tool-call reply: its text (if any), then the calls
    const plan =
      calls.length > 0
        ? { tokens: tokenize(options.toolCallText ?? ''), reason: 'stop' as const }
        : plannedTokens(reply, { tokens: options.tokens, numPredict })
    const wireCalls = calls.map(wireCall)
    const callTokens = calls.reduce(
      (n, c) =>
        n + tokenize(`${c.name} ${typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments)}`).length,
      0,
    )
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
          alts.push({
            token: alt,
            logprob: Math.round((logprob - 0.5 * k - (hash32(alt + i) % 100) / 100) * 1e6) / 1e6,
          })
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
      if (!stream && wireCalls.length > 0) o.message = { role: 'assistant', content: full, tool_calls: wireCalls }
      if (!stream && wantLogprobs) o.logprobs = plan.tokens.map((t, i) => logprobEntry(i, t))
      o.done_reason = plan.reason
      if (kind === 'generate' && !body.raw) o.context = plan.tokens.slice(0, 8).map((t) => hash32(t) % 128_000)
      Object.assign(o, {
        total_duration: Number(end - started),
        load_duration: loadNs,
        prompt_eval_count: promptTokens,
        prompt_eval_duration: 1_000_000 + promptTokens * 50_000,
        eval_count: plan.tokens.length + callTokens,
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
    // the token lines, then (a tool-call reply) the line with the calls
    const lines = plan.tokens.length + (wireCalls.length > 0 ? 1 : 0)
    for (let i = 0; i <= lines; i++) {
      if (!(await streamFault(ctx, f, i, 'this is not JSON {"done":\n'))) return
      if (i === lines) break
      if (i > 0 && !(await sleep(tokenDelay, ctx.signal))) return
      if (ctx.signal.aborted) return
      firstTokenAt ??= process.hrtime.bigint()
      const line =
        i < plan.tokens.length
          ? piece(plan.tokens[i]!, i, false)
          : {
              model: body.model,
              created_at: nowIso(),
              message: { role: 'assistant', content: '', tool_calls: wireCalls },
              done: false,
            }
      await writeFlushed(ctx.res, JSON.stringify(line) + '\n')
      ctx.rec.tokensSent++
    }
    if (ctx.signal.aborted) return
    ctx.res.end(JSON.stringify(final('')) + '\n')
    release(m)
  }

  function loadOrUnload(ctx: Ctx, m: ModelState, kind: 'chat' | 'generate', body: Record<string, any>): void {
    const unload = body.keep_alive !== undefined && parseKeepAlive(body.keep_alive) === 0
    if (unload) unloadModel(m.name)
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
      if (!(await streamFault(ctx, f, i, 'not json at all\n'))) return
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

  /** the present model a show or delete request names (`model`, or the older `name`) */
  function requestedModel(ctx: Ctx): ModelState {
    const body = (ctx.rec.body ?? {}) as Record<string, any>
    const name = body.model ?? body.name
    if (!name) throw new HttpFailure(400, 'model is required')
    const m = presentModel(name)
    if (!m) throw new HttpFailure(404, `model '${name}' not found`)
    return m
  }

  function show(ctx: Ctx): void {
    const m = requestedModel(ctx)
    const family = m.spec.family ?? 'llama'
    sendJson(ctx.res, 200, {
      license: 'Test license',
      modelfile:
        `# Modelfile generated by "ollama show"\nFROM ${m.from ?? m.name}\n` +
        (m.adapters ?? []).map((a) => `ADAPTER ${blobPath(a.digest)}\n`).join('') +
        `TEMPLATE """{{ .Prompt }}"""\n`,
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
    const m = requestedModel(ctx)
    m.present = false
    unloadModel(m.name)
    ctx.res.writeHead(200, { 'Content-Length': 0 })
    ctx.res.end()
  }

  // -- blobs and create ------------------------------------------------------------------------

  const DIGEST = /^sha256[:-][0-9a-fA-F]{64}$/
  /** "sha256:<hex>" (Ollama also accepts "sha256-<hex>") */
  const canonicalDigest = (d: string): string => `sha256:${d.slice(7).toLowerCase()}`
  /** where Ollama would keep a blob, for its messages */
  function blobPath(digest: string): string {
    return `/root/.ollama/models/blobs/sha256-${digest.slice(7)}`
  }
  const digestOf = (content: Buffer): string => `sha256:${createHash('sha256').update(content).digest('hex')}`

  /** the digest in /api/blobs/:digest, or a 400 as Ollama answers it */
  function blobDigest(ctx: Ctx): string {
    const d = decodeURIComponent(ctx.rec.path.slice('/api/blobs/'.length))
    if (!DIGEST.test(d)) throw new HttpFailure(400, 'invalid digest format')
    return canonicalDigest(d)
  }

  function headBlob(ctx: Ctx): void {
    const digest = blobDigest(ctx)
    if (!blobStore.has(digest)) throw new HttpFailure(404, `blob ${JSON.stringify(digest)} not found`)
    ctx.res.writeHead(200, { 'Content-Length': 0 })
    ctx.res.end()
  }

  function postBlob(ctx: Ctx): void {
    let digest: string
    try {
      digest = blobDigest(ctx)
    } catch (err) {
      blobUploads.push({ digest: ctx.rec.path.slice('/api/blobs/'.length), bytes: ctx.raw.length, status: 400 })
      throw err
    }
    const upload: BlobUpload = { digest, bytes: ctx.raw.length, status: 0 }
    blobUploads.push(upload)
    if (blobStore.has(digest)) {
      // Ollama answers 200 without reading the body when it has the blob
      upload.status = 200
      ctx.res.writeHead(200, { 'Content-Length': 0 })
      ctx.res.end()
      return
    }
    const got = digestOf(ctx.raw)
    if (got !== digest) {
      upload.status = 400
      throw new HttpFailure(400, `digest mismatch, expected ${JSON.stringify(digest)}, got ${JSON.stringify(got)}`)
    }
    blobStore.set(digest, Buffer.from(ctx.raw))
    upload.status = 201
    ctx.res.writeHead(201, { 'Content-Length': 0 })
    ctx.res.end()
  }

  /** Ollama's model-name rule, roughly: [namespace/]name[:tag], letters, digits, `_.-` */
  const VALID_NAME =
    /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,79}\/)*[A-Za-z0-9][A-Za-z0-9._-]{0,79}(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,79})?$/

  async function create(ctx: Ctx): Promise<void> {
    const body = (ctx.rec.body ?? {}) as Record<string, any>
    if (typeof body !== 'object' || Array.isArray(body)) throw new HttpFailure(400, 'invalid request body')
    const name = String(body.model ?? body.name ?? '')
    const stream = body.stream !== false
    const record: CreateRecord = { model: name, stream, outcome: 'success' }
    if (typeof body.from === 'string') record.from = body.from
    if (body.adapters && typeof body.adapters === 'object') record.adapters = { ...body.adapters }
    const fail = (status: number, message: string): HttpFailure => {
      record.outcome = { error: message, status }
      creates.push(record)
      return new HttpFailure(status, message)
    }
    if (!VALID_NAME.test(name)) throw fail(400, 'invalid model name')
    if (!body.from) throw fail(400, "neither 'from' or 'files' was specified")
    const base = presentModel(body.from)
    if (!base) throw fail(404, `model ${JSON.stringify(String(body.from))} not found, try pulling it first`)

    const adapters: Array<{ name: string; digest: string; bytes: number }> = []
    const entries = Object.entries((body.adapters ?? {}) as Record<string, unknown>)
    for (const [file, d] of entries) {
      if (typeof d !== 'string' || !DIGEST.test(d)) throw fail(400, 'invalid digest format')
      const digest = canonicalDigest(d)
      const content = blobStore.get(digest)
      if (!content) throw fail(400, `open ${blobPath(digest)}: no such file or directory`)
      adapters.push({ name: file, digest, bytes: content.length })
    }
    // typed by suffix as Ollama does; other files (adapter_config.json) go along
    const kinds = new Set(
      adapters.flatMap((a) =>
        /\.safetensors$/.test(a.name) ? ['safetensors'] : /\.(gguf|bin)$/.test(a.name) ? ['gguf'] : [],
      ),
    )
    if (adapters.length > 0 && kinds.size !== 1) throw fail(400, 'unknown type')
    if (kinds.has('gguf') && adapters.length > 1) throw fail(400, 'only one adapter is currently supported')

    const lines: Array<Record<string, unknown>> = []
    if (kinds.has('gguf')) lines.push({ status: 'parsing GGUF' })
    if (kinds.has('safetensors')) lines.push({ status: 'converting adapter' })
    for (const layer of ['weights', 'template', 'params'])
      lines.push({ status: `using existing layer sha256:${sha256(`${base.name}/${layer}`)}` })
    for (const a of adapters) lines.push({ status: `creating new layer ${a.digest}` })
    lines.push({ status: 'writing manifest' }, { status: 'success' })
    const f = faultFor(ctx.rec.path)

    if (!stream) {
      if (!(await sleep(options.createDelayMs * lines.length, ctx.signal))) return
      createDerived(name, base, adapters)
      creates.push(record)
      sendJson(ctx.res, 200, { status: 'success' })
      return
    }
    ctx.res.writeHead(200, { 'Content-Type': 'application/x-ndjson' })
    for (let i = 0; i < lines.length; i++) {
      if (!(await streamFault(ctx, f, i, 'not json at all\n'))) return
      if (i > 0 && !(await sleep(options.createDelayMs, ctx.signal))) return
      if (ctx.signal.aborted) return
      const line = lines[i]!
      if (line.status === 'success') {
        createDerived(name, base, adapters)
        creates.push(record)
      }
      await writeFlushed(ctx.res, JSON.stringify(line) + '\n')
      ctx.rec.tokensSent++
    }
    ctx.res.end()
  }

  async function route(ctx: Ctx): Promise<void> {
    const { method, path } = ctx.rec
    if (path === '/' && (method === 'GET' || method === 'HEAD')) {
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' })
      ctx.res.end(method === 'HEAD' ? undefined : 'Ollama is running')
      return
    }
    const f = faultFor(path.startsWith('/api/blobs/') ? '/api/blobs' : path)
    if (f?.kind === 'hang') return new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()))
    if (f?.kind === 'http-error') throw new HttpFailure(f.status, f.message)
    const key = `${method} ${path}`
    switch (key) {
      case 'GET /api/version':
        return sendJson(ctx.res, 200, { version: options.version })
      case 'GET /api/tags':
        return sendJson(ctx.res, 200, { models: presentModels().map(tagEntry) })
      case 'GET /api/ps':
        return sendJson(ctx.res, 200, {
          models: loadedList().map((l) => {
            const m = byName(l.name)!
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
      case 'POST /api/create':
        return create(ctx)
    }
    if (path.startsWith('/api/blobs/') && path.length > '/api/blobs/'.length) {
      if (method === 'HEAD') return headBlob(ctx)
      if (method === 'POST') return postBlob(ctx)
    }
    if (
      [
        '/api/version',
        '/api/tags',
        '/api/ps',
        '/api/show',
        '/api/chat',
        '/api/generate',
        '/api/embed',
        '/api/embeddings',
        '/api/pull',
        '/api/delete',
        '/api/create',
      ].includes(path) ||
      path.startsWith('/api/blobs/')
    ) {
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
      const raw = Buffer.concat(chunks)
      const path = (req.url ?? '/').split('?')[0]!
      // blob uploads are binary: kept raw, never parsed
      const text = path.startsWith('/api/blobs/') ? '' : raw.toString('utf8')
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
        path,
        body,
        bytes: raw.length,
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
      const ctx: Ctx = { req, res, rec, raw, signal: ac.signal }
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
        if (k !== 'fault' && (v !== undefined || k === 'tokens' || k === 'toolCalls' || k === 'toolCallText'))
          (options as Record<string, unknown>)[k] = v
      }
      if ('fault' in o) fault = o.fault ?? null
    },
    addModel,
    blobUploads,
    creates,
    blobs: () => [...blobStore.keys()],
    addBlob(content) {
      const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content)
      const digest = digestOf(buf)
      blobStore.set(digest, buf)
      return digest
    },
    present: () => presentModels().map((m) => m.name),
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
