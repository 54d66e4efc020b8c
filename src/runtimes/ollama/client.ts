/**
 * The `ollama` client, imported lazily (CLI start-up must not pay for it), and the fetch it is
 * given. Each request gets its own client whose fetch
 * - adds the request's AbortSignal to every call (the client passes none for non-streamed calls,
 *   and its own per-stream one before headers arrive), so timeouts and aborts always bite;
 * - hands a streamed body to the caller (`watch.body`), which reads and checks it in one pass
 *   (ndjson.ts), instead of to the client's own parser;
 * - turns error bodies that are not JSON into `{"error": text}`, so the client does not
 *   console.log while reading them (which would pollute `--json` output).
 */
import type { Ollama } from 'ollama'

type OllamaModule = typeof import('ollama')
let loading: Promise<OllamaModule> | undefined

export function loadOllama(): Promise<OllamaModule> {
  loading ??= import('ollama').catch((err: unknown) => {
    loading = undefined
    throw err
  })
  return loading
}

/** What the fetch wrapper saw of one request. */
export interface StreamWatch {
  /** the HTTP response (headers) arrived */
  responded: boolean
  /** a streamed call's body, for NdjsonReader (ndjson.ts) */
  body?: ReadableStream<Uint8Array>
  /** text of an `{"error": …}` line in a stream */
  errorLine?: string
}

export function newWatch(): StreamWatch {
  return { responded: false }
}

async function jsonErrorResponse(res: Response): Promise<Response> {
  const text = await res.text().catch(() => '')
  let message = text.trim() || `${res.status} ${res.statusText}`.trim()
  try {
    const parsed = JSON.parse(text) as { error?: unknown }
    if (parsed && typeof parsed.error === 'string') message = parsed.error
  } catch {
    // not JSON: keep the text
  }
  if (message.length > 500) message = `${message.slice(0, 500)}…`
  return new Response(JSON.stringify({ error: message }), {
    status: res.status,
    statusText: res.statusText,
    headers: { 'content-type': 'application/json' },
  })
}

export interface ClientFetchOptions {
  fetch?: typeof fetch | undefined
  signal: AbortSignal
  watch?: StreamWatch | undefined
  /** a streamed call: the body goes to `watch.body`, for NdjsonReader, not to the client */
  ndjson?: boolean
}

export function guardedFetch(opts: ClientFetchOptions): typeof fetch {
  return async (input, init) => {
    const base = opts.fetch ?? globalThis.fetch
    const signal = init?.signal ? AbortSignal.any([init.signal, opts.signal]) : opts.signal
    const res = await base(input, { ...init, signal })
    if (opts.watch) opts.watch.responded = true
    if (!res.ok) return jsonErrorResponse(res)
    if (!opts.ndjson || !res.body || !opts.watch) return res
    // the caller reads the body (NdjsonReader); the client gets an empty one, and its lazy parser
    // over it is never started
    opts.watch.body = res.body
    return new Response('', { status: res.status, statusText: res.statusText, headers: res.headers })
  }
}

export async function makeClient(host: string, opts: ClientFetchOptions): Promise<Ollama> {
  const { Ollama } = await loadOllama()
  return new Ollama({ host, fetch: guardedFetch(opts) })
}
