/**
 * `prepare`: makes a model ready on Ollama before a stage's first request.
 *
 * Without adapters: the base is looked up (`/api/show`); when Ollama lacks it, it is pulled with
 * progress, unless the runtime is `offline` or has `pull: false` (MODEL_MISSING, the same words as
 * a generation uses). Then it is loaded (`/api/generate` with only the model and `keep_alive`,
 * which Ollama answers with done_reason "load") and its size read from `/api/ps` (or `/api/tags`).
 *
 * With an adapter (a LoRA on a shared base): its files are hashed and the derived model's name
 * made from the entry, the base and the digests (see adapters.ts). When Ollama already has that
 * model, nothing is created or uploaded: this is the cache, shared by every process that talks to
 * the same server. Otherwise the base is made present (same rules as above), each file's blob is
 * checked (`HEAD /api/blobs/:digest`) and sent only when missing, and the model is created
 * (`/api/create` with `from` and `adapters`, its status lines passed on). Then the derived model is
 * loaded like a base.
 *
 * Adapter strength: Ollama applies an adapter at full strength and has no scale. A scale of 1 (or
 * none) is applied; a scale of 0 leaves the base unchanged, so that adapter is skipped (the base
 * itself is prepared when no adapter is left); any other scale is refused with USAGE (the request
 * can never be met by this runtime; exit code 2, like other configuration the user must change),
 * as is more than one adapter on a model (Ollama takes one LoRA per model).
 *
 * Progress (`onProgress`) is Ollama's pull and create status lines as it sends them, plus
 * `hashing <file>` and `uploading <file>` with byte counts; loading reports none (a model manager
 * reports loads itself).
 *
 * Every step is bounded: one-shot calls by statusTimeoutMs, the load by firstTokenTimeoutMs, pulls,
 * uploads and creates by idleTimeoutMs between progress; the caller's signal ends any step at once
 * with ABORTED.
 */
import { MiradorError } from '../../engine/errors.js'
import type { ModelSpec, PreparedModel, Progress } from '../../engine/runtime.js'
import { adapterFiles, blobExists, derivedModelName, uploadBlob } from './adapters.js'
import { abortedError, callOllama, disposedError, type CallEnv } from './call.js'
import { createModel } from './create.js'
import { pullRefusedError } from './errors.js'
import { pullModel } from './pull.js'

export interface PrepareEnv extends CallEnv {
  firstTokenTimeoutMs: number
  idleTimeoutMs: number
  offline: boolean
  pull: boolean
}

export interface PrepareOptions {
  signal?: AbortSignal | undefined
  onProgress?: ((p: Progress) => void) | undefined
}

/** "llama3.2" and "llama3.2:latest" are one model */
export function sameModel(a: string, b: string): boolean {
  const norm = (n: string): string => {
    const t = n.trim().toLowerCase()
    return t.slice(t.lastIndexOf('/') + 1).includes(':') ? t : `${t}:latest`
  }
  return norm(a) === norm(b)
}

/**
 * The adapters Ollama will apply: scale 0 ones dropped (they change nothing), and a refusal for
 * what Ollama cannot do (a partial scale, several adapters on one model).
 */
function usableAdapters(spec: ModelSpec): NonNullable<ModelSpec['adapters']> {
  const adapters = (spec.adapters ?? []).filter((a) => a.scale !== 0)
  for (const a of adapters) {
    if (a.scale !== undefined && a.scale !== 1) {
      throw new MiradorError(
        'USAGE',
        `Model entry "${spec.name}" asks for the adapter ${a.file} at scale ${a.scale}, ` +
          'but Ollama applies adapters at full strength only. ' +
          'Set its scale to 1 (or remove it) in models/manifest.yaml, ' +
          'or run this entry on the llamacpp runtime, which scales adapters.',
        { details: { entry: spec.name, file: a.file, scale: a.scale, runtime: 'ollama' } },
      )
    }
  }
  if (adapters.length > 1) {
    throw new MiradorError(
      'USAGE',
      `Model entry "${spec.name}" lists ${adapters.length} adapters, but Ollama applies one adapter per model. ` +
        'Merge them into one, or run this entry on the llamacpp runtime, which stacks adapters.',
      { details: { entry: spec.name, adapters: adapters.map((a) => a.file), runtime: 'ollama' } },
    )
  }
  return adapters
}

/** The name `prepareModel` gives the model, without making it ready (hashes the adapter files). */
export async function preparedName(spec: ModelSpec, signal?: AbortSignal): Promise<string> {
  const adapters = usableAdapters(spec)
  if (adapters.length === 0) return spec.base
  return derivedModelName(spec.name, spec.base, await adapterFiles(spec.name, adapters[0]!.file, signal))
}

export async function prepareModel(
  env: PrepareEnv,
  spec: ModelSpec,
  options: PrepareOptions = {},
): Promise<PreparedModel> {
  const { signal, onProgress } = options
  const doing = `preparing ${spec.name} (${spec.base})`
  if (signal?.aborted) throw abortedError(doing)

  const adapters = usableAdapters(spec)

  /** Does Ollama have this model? */
  const has = async (model: string): Promise<boolean> => {
    try {
      await callOllama(env, model, (c) => c.show({ model }), { signal, doing })
      return true
    } catch (err) {
      if (MiradorError.is(err, 'MODEL_MISSING')) return false
      throw err
    }
  }

  /** The base on the server: pulled (with progress) if absent and allowed. */
  const ensureBase = async (): Promise<void> => {
    if (await has(spec.base)) return
    if (env.offline || !env.pull) throw pullRefusedError(env.host, spec.base, env.offline)
    for await (const part of pullModel(env, spec.base, signal)) {
      if (part.type === 'progress') {
        const { type: _, ...progress } = part
        onProgress?.(progress)
      } else if (part.type === 'error') {
        throw part.error
      } else if (part.type === 'finish') {
        throw signal?.aborted ? abortedError(doing) : disposedError()
      }
    }
  }

  let model = spec.base
  if (adapters.length === 0) {
    await ensureBase()
  } else {
    const files = await adapterFiles(spec.name, adapters[0]!.file, signal, onProgress, doing)
    model = derivedModelName(spec.name, spec.base, files)
    if (!(await has(model))) {
      await ensureBase()
      for (const f of files) {
        if (await blobExists(env, model, f.digest, signal, doing)) continue
        await uploadBlob(env, spec.name, f, { signal, onProgress, doing })
      }
      await createModel(
        env,
        { model, from: spec.base, adapters: Object.fromEntries(files.map((f) => [f.name, f.digest])) },
        { signal, onProgress, doing },
      )
    }
  }

  await callOllama(
    env,
    model,
    (c) =>
      c.generate({
        model,
        prompt: '',
        stream: false,
        ...(spec.keepAlive !== undefined ? { keep_alive: spec.keepAlive } : {}),
      }),
    { signal, doing, timeoutMs: env.firstTokenTimeoutMs, action: 'load' },
  )
  const sizeBytes = await sizeOf(env, model, signal, doing)
  return sizeBytes === undefined ? { model } : { model, sizeBytes }
}

/** The model's size in memory (`/api/ps`), else on disk (`/api/tags`); undefined if unknown. */
async function sizeOf(
  env: CallEnv,
  model: string,
  signal: AbortSignal | undefined,
  doing: string,
): Promise<number | undefined> {
  try {
    const ps = await callOllama(env, model, (c) => c.ps(), { signal, doing })
    const loaded = (ps.models ?? []).find(
      (m) => sameModel(m.name ?? m.model ?? '', model) || sameModel(m.model ?? '', model),
    )
    if (loaded && typeof loaded.size === 'number') return loaded.size
    const tags = await callOllama(env, model, (c) => c.list(), { signal, doing })
    const onDisk = (tags.models ?? []).find(
      (m) => sameModel(m.name ?? m.model ?? '', model) || sameModel(m.model ?? '', model),
    )
    return onDisk && typeof onDisk.size === 'number' ? onDisk.size : undefined
  } catch (err) {
    // the size is a nicety: only a cancellation is worth failing for
    if (MiradorError.is(err, 'ABORTED')) throw err
    return undefined
  }
}
