/**
 * The `ollama` client, imported lazily (CLI start-up must not pay for it), and the fetch it is
 * given. Each request gets its own client whose fetch
 * - adds the request's AbortSignal to every call (the client passes none for non-streamed calls,
 *   and its own per-stream one before headers arrive), so timeouts and aborts always bite;
 * - checks a streamed body line by line: a line that is not JSON errors the stream with an
 *   `NdjsonError` (the client itself only console.warns and skips such lines), and an
 *   `{"error": …}` line is noted in the `StreamWatch` so it can be reported in Ollama's words;
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
  /** NDJSON lines received */
  lines: number
  /** text of an `{"error": …}` line in a stream */
  errorLine?: string
}

export class NdjsonError extends Error {
  constructor(readonly line: string) {
    super(`not a JSON line: ${line.length > 80 ? `${line.slice(0, 80)}…` : line}`)
    this.name = 'NdjsonError'
  }
}

export function newWatch(): StreamWatch {
  return { responded: false, lines: 0 }
}

function checkLine(line: string, watch: StreamWatch): void {
  if (!line.trim()) return
  let parsed: unknown
  try {
    parsed = JSON.parse(line)
  } catch {
    throw new NdjsonError(line.trim())
  }
  watch.lines++
  if (parsed && typeof parsed === 'object' && 'error' in parsed) {
    watch.errorLine = String((parsed as { error: unknown }).error)
  }
}

/** Passes complete, valid NDJSON lines through; errors the stream at the first bad one. */
function ndjsonGuard(watch: StreamWatch): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  let buffer = ''
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true })
      const lines = buffer.split('\n')
      buffer = lines.pop() ?? ''
      const good: string[] = []
      try {
        for (const line of lines) {
          checkLine(line, watch)
          good.push(line)
        }
      } catch (err) {
        if (good.length) controller.enqueue(encoder.encode(good.join('\n') + '\n'))
        controller.error(err)
        return
      }
      if (good.length) controller.enqueue(encoder.encode(good.join('\n') + '\n'))
    },
    flush(controller) {
      buffer += decoder.decode()
      checkLine(buffer, watch)
      if (buffer.trim()) controller.enqueue(encoder.encode(buffer))
    },
  })
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
  /** check the body as NDJSON (streamed calls) */
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
    return new Response(res.body.pipeThrough(ndjsonGuard(opts.watch)), {
      status: res.status,
      statusText: res.statusText,
      headers: res.headers,
    })
  }
}

export async function makeClient(host: string, opts: ClientFetchOptions): Promise<Ollama> {
  const { Ollama } = await loadOllama()
  return new Ollama({ host, fetch: guardedFetch(opts) })
}
