/**
 * One-shot API calls (tags, show, ps, load, unload, blob checks): each gets its own client and
 * RequestGuard, so a deadline, the caller's AbortSignal or dispose() ends it at once, whatever the
 * server does. Failures are MiradorErrors:
 * - the deadline → RUNTIME_TIMEOUT (the message depends on `action`: a load says so)
 * - the caller's signal → ABORTED; dispose() → ABORTED ("disposed")
 * - Ollama's 404 for a model → MODEL_MISSING "model X is not on the Ollama server at H"
 * - anything else → toMiradorError (unreachable, protocol, HTTP status, …)
 */
import type { Progress } from '../../engine/runtime.js'
import { MiradorError } from '../../engine/errors.js'
import { makeClient, newWatch, type StreamWatch } from './client.js'
import { isModelNotFound, timeoutError, toMiradorError, unreachableMessage, type Action } from './errors.js'
import { RequestGuard } from './guard.js'
import { displayHost } from './host.js'

export type OllamaClient = Awaited<ReturnType<typeof makeClient>>

export interface CallEnv {
  host: string
  /** set when the host setting is not a URL: every call fails RUNTIME_UNREACHABLE */
  hostError?: string | undefined
  fetch?: typeof fetch | undefined
  statusTimeoutMs: number
  /** requests in flight, so dispose() can stop them */
  active: Set<RequestGuard>
}

/** A step of making a model ready (a create, an upload): the caller's signal, progress, and what it is part of. */
export interface StepOptions {
  signal?: AbortSignal | undefined
  onProgress?: ((p: Progress) => void) | undefined
  /** for messages: what the step is part of ("preparing quick (llama3.2:1b)") */
  doing?: string
}

export interface CallOptions {
  /** the caller's signal: aborting it ends the call with ABORTED */
  signal?: AbortSignal | undefined
  /** the deadline (default env.statusTimeoutMs) */
  timeoutMs?: number
  /** for messages ('call' unless said) */
  action?: Action
  /** what the caller was doing, for the ABORTED message ("preparing x") */
  doing?: string
}

/** What a call's `run` gets besides the client: the request's signal (for plain fetches) and watch. */
export interface CallContext {
  signal: AbortSignal
  watch: StreamWatch
  /** the guarded fetch's options, for calls the client does not have */
  fetch?: typeof fetch | undefined
}

export function abortedError(doing: string | undefined, cause?: unknown): MiradorError {
  return new MiradorError(
    'ABORTED',
    doing ? `Cancelled while ${doing}.` : 'Cancelled.',
    cause === undefined ? {} : { cause },
  )
}

export function disposedError(cause?: unknown): MiradorError {
  return new MiradorError('ABORTED', 'The Ollama runtime was disposed.', cause === undefined ? {} : { cause })
}

export function badHostError(env: CallEnv, model: string): MiradorError {
  return new MiradorError('RUNTIME_UNREACHABLE', unreachableMessage(env.host, env.hostError ?? 'invalid host'), {
    details: { host: env.host, model },
  })
}

/** Runs `run` with a fresh client, bounded by the deadline and the caller's signal. */
export async function callOllama<T>(
  env: CallEnv,
  model: string,
  run: (client: OllamaClient, ctx: CallContext) => Promise<T>,
  options: CallOptions = {},
): Promise<T> {
  if (env.hostError) throw badHostError(env, model)
  const guard = new RequestGuard(options.signal)
  env.active.add(guard)
  const watch = newWatch()
  const ms = options.timeoutMs ?? env.statusTimeoutMs
  const action = options.action ?? 'call'
  let completed = false
  try {
    guard.arm('deadline', ms)
    const client = await guard.race(makeClient(env.host, { fetch: env.fetch, signal: guard.signal, watch }))
    const out = await guard.race(run(client, { signal: guard.signal, watch, fetch: env.fetch }))
    completed = true
    return out
  } catch (err) {
    if (guard.why === 'deadline') throw timeoutError('deadline', ms, { host: env.host, model, tokens: 0, action })
    if (guard.why === 'user') throw abortedError(options.doing, err)
    if (guard.why === 'dispose') throw disposedError(err)
    if (model && isModelNotFound(err)) {
      throw new MiradorError(
        'MODEL_MISSING',
        `model ${model} is not on the Ollama server at ${displayHost(env.host)}`,
        {
          cause: err,
          details: { host: env.host, model },
        },
      )
    }
    throw toMiradorError(err, { host: env.host, model, tokens: 0, watch, action })
  } finally {
    guard.dispose(completed)
    env.active.delete(guard)
  }
}
