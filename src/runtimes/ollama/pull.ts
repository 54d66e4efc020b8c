/**
 * Pulls a model through Ollama (`/api/pull`, streamed), turning its progress lines into
 * `progress` parts. Never throws: returns true when Ollama said "success"; otherwise it has
 * yielded one `error` part (or a `finish` with reason 'abort' when the caller's signal fired).
 * A pull has no first-token deadline (downloads are slow to start on some networks) but the same
 * idle timeout as generation: no progress line for `idleTimeoutMs` stops it.
 */
import { MiradorError } from '../../engine/errors.js'
import type { StreamPart } from '../../engine/runtime.js'
import { newWatch } from './client.js'
import { timeoutError, toMiradorError } from './errors.js'
import { RequestGuard } from './guard.js'
import { progressStream } from './progress-stream.js'
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
  const ctx = { host: env.host, model, tokens: 0, watch, action: 'pull' as const }
  try {
    try {
      for await (const p of progressStream(env, guard, watch, (c) => c.pull({ model, stream: true }))) {
        if (p.status === 'success') completed = true
        yield { type: 'progress', ...p }
      }
      if (completed) return true
      throw new Error('Did not receive done or success response in stream.')
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
    guard.dispose(completed)
    env.active.delete(guard)
  }
}

function isResponseError(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { name?: unknown }).name === 'ResponseError'
}
