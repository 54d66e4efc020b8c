/**
 * HTTP plumbing of the Ollama test double: the per-request context, HTTP failures, abortable
 * sleeps, flushed writes, JSON replies and the streamed-response faults ('drop-mid-stream',
 * 'malformed-line'). Apart from ollama-server.ts so that the server file is about Ollama's routes.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Fault, RecordedRequest } from './ollama-server-types.js'

export interface Ctx {
  req: http.IncomingMessage
  res: http.ServerResponse
  rec: RecordedRequest
  /** the request body as received */
  raw: Buffer
  /** aborted when the connection closes or the server stops */
  signal: AbortSignal
}

/** Thrown by a handler: answered as `{"error": message}` with this status. */
export class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message)
  }
}

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

/** Waits `ms`; false when `signal` aborted first (or already had). */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
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
export function writeFlushed(res: http.ServerResponse, data: string): Promise<void> {
  return new Promise((resolve) => {
    res.write(data, () => resolve())
  })
}

/** A complete JSON reply, unless the response is already gone. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.writableEnded) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  })
  res.end(text)
}

/**
 * Applies a 'drop-mid-stream' or 'malformed-line' fault due before stream line `i` (the NDJSON
 * streams of chat/generate and of pull share it): a drop destroys the socket and returns false
 * (stop writing); a malformed line writes `malformed` and returns true, as does no fault.
 */
export async function streamFault(ctx: Ctx, f: Fault | null, i: number, malformed: string): Promise<boolean> {
  if (f && (f.kind === 'drop-mid-stream' || f.kind === 'malformed-line') && f.afterTokens === i) {
    if (f.kind === 'drop-mid-stream') {
      if (i === 0) ctx.res.flushHeaders()
      await sleep(5, ctx.signal)
      ctx.req.socket.destroy()
      return false
    }
    await writeFlushed(ctx.res, malformed)
  }
  return true
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
