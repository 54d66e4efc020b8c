/**
 * Pulls a model through Ollama (`/api/pull`, streamed), turning its progress lines into
 * `progress` parts. Never throws: returns true when Ollama said "success"; otherwise it has
 * yielded one `error` part (or a `finish` with reason 'abort' when the caller's signal fired).
 * A pull has no first-token deadline (downloads are slow to start on some networks) but the same
 * idle timeout as generation: no progress line for `idleTimeoutMs` stops it.
 */
import type { ProgressResponse } from 'ollama'
import { MiradorError } from '../../engine/errors.js'
import type { StreamPart } from '../../engine/runtime.js'
import { makeClient, newWatch } from './client.js'
import { timeoutError, toMiradorError } from './errors.js'
import { RequestGuard } from './guard.js'
import { NdjsonReader } from './ndjson.js'
import { displayHost } from './host.js'

export interface PullEnv {
  host: string
  fetch?: typeof fetch | undefined
  idleTimeoutMs: number
  active: Set<RequestGuard>
}

/** Ollama's words when the registry has no such model */
const NO_SUCH_MODEL = /file does not exist|manifest unknown|not found|invalid model name/i

export async function* pullModel(
  env: PullEnv,
  model: string,
  signal?: AbortSignal,
): AsyncGenerator<StreamPart, boolean> {
  const guard = new RequestGuard(signal)
  env.active.add(guard)
  const watch = newWatch()
  let completed = false
  let abortStream: (() => void) | undefined
  let lines: NdjsonReader<ProgressResponse> | undefined
  const ctx = { host: env.host, model, tokens: 0, watch, action: 'pull' as const }
  try {
    try {
      guard.arm('idle', env.idleTimeoutMs)
      const client = await guard.race(
        makeClient(env.host, { fetch: env.fetch, signal: guard.signal, watch, ndjson: true }),
      )
      const stream = await guard.race(client.pull({ model, stream: true }))
      abortStream = () => stream.abort()
      lines = new NdjsonReader<ProgressResponse>(watch, guard.signal)
      for (;;) {
        const batch = await lines.read()
        if (!batch) throw new Error('Did not receive done or success response in stream.')
        if (batch.length === 0) continue
        guard.pause()
        for (const p of batch) {
          const part: StreamPart = { type: 'progress', status: String(p.status ?? '') }
          if (typeof p.completed === 'number') part.completed = p.completed
          if (typeof p.total === 'number') part.total = p.total
          if (p.status === 'success') completed = true
          yield part
          if (completed) return true
        }
        guard.arm('idle', env.idleTimeoutMs)
      }
    } catch (err) {
      guard.pause()
      if (guard.why === 'user' || guard.why === 'dispose') {
        yield { type: 'finish', reason: 'abort', usage: { completionTokens: 0 } }
        return false
      }
      if (guard.why === 'idle') {
        yield { type: 'error', error: timeoutError('idle', env.idleTimeoutMs, ctx) }
        return false
      }
      const said = watch.errorLine ?? (isResponseError(err) ? (err as Error).message : undefined)
      if (said !== undefined && NO_SUCH_MODEL.test(said)) {
        yield {
          type: 'error',
          error: new MiradorError(
            'MODEL_MISSING',
            `Ollama at ${displayHost(env.host)} could not pull ${model}: ${said}. ` +
              "Check the model name (see https://ollama.com/library) or the model's `host` in models/manifest.yaml.",
            { cause: err, details: { host: env.host, model } },
          ),
        }
        return false
      }
      yield { type: 'error', error: toMiradorError(err, ctx) }
      return false
    }
  } finally {
    if (!completed) abortStream?.()
    lines?.close()
    guard.dispose(completed)
    env.active.delete(guard)
  }
}

function isResponseError(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { name?: unknown }).name === 'ResponseError'
}
