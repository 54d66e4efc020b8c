/**
 * Creates a model from a base and adapter blobs (`POST /api/create` with `from` and `adapters`,
 * streamed), passing Ollama's status lines to `onProgress`. Like a pull it has no first-line
 * deadline, only the idle timeout between lines (a big adapter takes a while to parse or convert).
 * Throws MiradorError:
 * - ABORTED              the caller's signal, or dispose()
 * - RUNTIME_TIMEOUT      no status line for idleTimeoutMs
 * - MODEL_MISSING        Ollama does not have the base (its 404 "model … not found")
 * - RUNTIME_FAILED       Ollama refused (HTTP 400, e.g. a blob it lacks, an adapter type it does
 *                        not take) or reported an error line, in Ollama's words
 * - others as toMiradorError maps them (connection lost, not JSON, …)
 */
import { MiradorError } from '../../engine/errors.js'
import { abortedError, badHostError, disposedError, type CallEnv, type StepOptions } from './call.js'
import { newWatch } from './client.js'
import { isModelNotFound, timeoutError, toMiradorError } from './errors.js'
import { RequestGuard } from './guard.js'
import { progressStream, type OllamaClient } from './progress-stream.js'
import { displayHost } from './host.js'

export interface CreateEnv extends CallEnv {
  idleTimeoutMs: number
}

export interface CreateSpec {
  /** the model to create */
  model: string
  /** the base it is made from */
  from: string
  /** file name → "sha256:<hex>" */
  adapters: Record<string, string>
}

function said(err: unknown): string | undefined {
  if (err && typeof err === 'object' && (err as { name?: unknown }).name === 'ResponseError')
    return (err as Error).message
  return undefined
}

function statusOf(err: unknown): number | undefined {
  const s = err && typeof err === 'object' ? (err as { status_code?: unknown }).status_code : undefined
  return typeof s === 'number' ? s : undefined
}

export async function createModel(env: CreateEnv, spec: CreateSpec, options: StepOptions = {}): Promise<void> {
  if (env.hostError) throw badHostError(env, spec.model)
  const guard = new RequestGuard(options.signal)
  env.active.add(guard)
  const watch = newWatch()
  let completed = false
  const h = displayHost(env.host)
  const details = { host: env.host, model: spec.model, from: spec.from, adapters: spec.adapters }
  try {
    const open = (c: OllamaClient) =>
      c.create({ model: spec.model, from: spec.from, adapters: spec.adapters, stream: true })
    for await (const p of progressStream(env, guard, watch, open)) {
      options.onProgress?.(p)
      if (p.status === 'success') completed = true
    }
    if (!completed) throw new Error('Did not receive done or success response in stream.')
  } catch (err) {
    guard.pause()
    if (guard.why === 'user') throw abortedError(options.doing, err)
    if (guard.why === 'dispose') throw disposedError(err)
    if (guard.why === 'idle')
      throw timeoutError('idle', env.idleTimeoutMs, { host: env.host, model: spec.model, tokens: 0, action: 'create' })
    if (MiradorError.is(err)) throw err
    if (isModelNotFound(err)) {
      throw new MiradorError(
        'MODEL_MISSING',
        `Ollama at ${h} cannot create ${spec.model}: it does not have the base model ${spec.from}. ` +
          `Run \`ollama pull ${spec.from}\`.`,
        { cause: err, details },
      )
    }
    const words = watch.errorLine ?? (statusOf(err) === 400 ? said(err) : undefined)
    if (words !== undefined) {
      const hint = /modelfile/i.test(words) ? ' Creating models with adapters needs Ollama 0.5.5 or newer.' : ''
      throw new MiradorError(
        'RUNTIME_FAILED',
        `Ollama at ${h} could not create ${spec.model} from ${spec.from} ` +
          `with the adapter ${Object.keys(spec.adapters).join(', ')}: ${words}.${hint}`,
        { cause: err, details },
      )
    }
    throw toMiradorError(err, { host: env.host, model: spec.model, tokens: 0, watch, action: 'create' })
  } finally {
    guard.dispose(completed)
    env.active.delete(guard)
  }
}
