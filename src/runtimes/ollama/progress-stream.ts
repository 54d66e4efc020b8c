/**
 * An Ollama progress stream (`/api/pull`, `/api/create`): its NDJSON lines as Progress, until
 * Ollama says "success". The idle timeout is re-armed after each read; what goes wrong is thrown
 * for the caller to word (a pull and a create explain their failures differently). Leaving early
 * (an error, the caller stopping) aborts the request and closes the reader.
 */
import type { ProgressResponse } from 'ollama'
import type { Progress } from '../../engine/runtime.js'
import { makeClient, type StreamWatch } from './client.js'
import type { RequestGuard } from './guard.js'
import { NdjsonReader } from './ndjson.js'

export type OllamaClient = Awaited<ReturnType<typeof makeClient>>

export interface ProgressStreamEnv {
  host: string
  fetch?: typeof fetch | undefined
  idleTimeoutMs: number
}

/** One progress line of Ollama's as Mirador's Progress. */
export function progressOf(p: ProgressResponse): Progress {
  const out: Progress = { status: String(p.status ?? '') }
  if (typeof p.completed === 'number') out.completed = p.completed
  if (typeof p.total === 'number') out.total = p.total
  return out
}

export async function* progressStream(
  env: ProgressStreamEnv,
  guard: RequestGuard,
  watch: StreamWatch,
  open: (client: OllamaClient) => Promise<{ abort(): void }>,
): AsyncGenerator<Progress, void> {
  let done = false
  let stream: { abort(): void } | undefined
  let lines: NdjsonReader<ProgressResponse> | undefined
  try {
    guard.arm('idle', env.idleTimeoutMs)
    const client = await guard.race(
      makeClient(env.host, { fetch: env.fetch, signal: guard.signal, watch, ndjson: true }),
    )
    stream = await guard.race(open(client))
    lines = new NdjsonReader<ProgressResponse>(watch, guard.signal)
    for (;;) {
      const batch = await lines.read()
      if (!batch) throw new Error('Did not receive done or success response in stream.')
      if (batch.length === 0) continue
      guard.pause()
      for (const p of batch) {
        yield progressOf(p)
        if (p.status === 'success') {
          done = true
          return
        }
      }
      guard.arm('idle', env.idleTimeoutMs)
    }
  } finally {
    guard.pause()
    if (!done) stream?.abort()
    lines?.close()
  }
}
