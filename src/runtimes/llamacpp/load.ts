/**
 * Lazy, once-per-process loading of node-llama-cpp and of GGUF models.
 *
 * - node-llama-cpp is imported dynamically on first use (it is heavy; start-up must not pay it).
 * - `getLlama` runs once per process (it costs about 0.3–1 s); concurrent callers share the promise.
 *   A failure is not cached, so a later call tries again.
 * - Each GGUF file (by absolute path) is loaded once per process; concurrent first requests share
 *   one load promise. A failed load is forgotten, so a fixed file can be retried. Owners (runtime
 *   instances) are counted: a model is disposed when the last owner releases it.
 */
import path from 'node:path'
import type { Llama, LlamaLogLevel, LlamaModel } from 'node-llama-cpp'
import { MiradorError } from '../../engine/errors.js'

let llamaPromise: Promise<Llama> | undefined
let bindingLoads = 0
let modelLoads = 0

/** llama.cpp warnings that every load of some GGUF files prints and that mean nothing to a user. */
const HARMLESS_LOGS = [/bad special token/]

/** The process-wide Llama binding (CPU only, prebuilt binary, never compiles). */
export function getLlamaOnce(): Promise<Llama> {
  llamaPromise ??= (async () => {
    const { getLlama, Llama: LlamaClass } = await import('node-llama-cpp')
    bindingLoads++
    return getLlama({
      gpu: false,
      build: 'never',
      skipDownload: true,
      progressLogs: false,
      logger: (level: LlamaLogLevel, message: string) => {
        if (HARMLESS_LOGS.some((re) => re.test(message))) return
        LlamaClass.defaultConsoleLogger(level, message)
      },
    })
  })().catch((err: unknown) => {
    llamaPromise = undefined
    throw new MiradorError(
      'RUNTIME_FAILED',
      `the llama.cpp binding (node-llama-cpp) could not be loaded: ${message(err)}. ` +
        'Reinstall the dependencies (npm ci) on this machine; node-llama-cpp needs its prebuilt CPU binary for this platform.',
      { cause: err },
    )
  })
  return llamaPromise
}

interface ModelEntry {
  promise: Promise<LlamaModel>
  owners: Set<object>
}

const models = new Map<string, ModelEntry>()

export function modelKey(file: string): string {
  return path.resolve(file)
}

/**
 * The model at `file`, loading it if no one has yet. `owner` is recorded so the model can be
 * disposed when every owner has released it. Rejects with a RUNTIME_LOAD MiradorError.
 */
export function acquireModel(file: string, owner: object): Promise<LlamaModel> {
  const key = modelKey(file)
  let entry = models.get(key)
  if (!entry) {
    const promise = (async () => {
      const llama = await getLlamaOnce()
      modelLoads++
      try {
        return await llama.loadModel({ modelPath: key, gpuLayers: 0 })
      } catch (err) {
        throw loadError(key, err)
      }
    })()
    const created: ModelEntry = { promise, owners: new Set() }
    entry = created
    models.set(key, created)
    promise.catch(() => {
      if (models.get(key) === created) models.delete(key)
    })
  }
  entry.owners.add(owner)
  return entry.promise
}

/** Drops `owner`'s hold on every model it acquired; disposes the models nobody holds any more. */
export async function releaseModels(owner: object): Promise<void> {
  const disposals: Promise<void>[] = []
  for (const [key, entry] of models) {
    if (!entry.owners.delete(owner) || entry.owners.size > 0) continue
    models.delete(key)
    disposals.push(
      entry.promise.then(
        (m) => m.dispose(),
        () => undefined,
      ),
    )
  }
  await Promise.all(disposals)
}

/**
 * Counters for tests and benchmarks: `bindingLoads` = getLlama calls, `modelLoads` = loadModel
 * calls (failed ones included), `loadedModels` = absolute paths currently held (or loading).
 */
export function llamaCppStats(): { bindingLoads: number; modelLoads: number; loadedModels: string[] } {
  return { bindingLoads, modelLoads, loadedModels: [...models.keys()] }
}

function loadError(file: string, err: unknown): MiradorError {
  const code = (err as { code?: unknown } | null)?.code
  const name = (err as { name?: unknown; constructor?: { name?: unknown } } | null)?.constructor?.name
  let what: string
  if (code === 'ENOENT') what = 'the file does not exist. Check the path, or download the GGUF file to it'
  else if (code === 'EISDIR') what = 'it is a directory. Point the model at the .gguf file inside it'
  else if (code === 'EACCES' || code === 'EPERM') what = 'permission denied. Make the file readable by this user'
  else if (name === 'InvalidGgufMagicError')
    what = 'it is not a GGUF file. The llama.cpp runtime needs a model in GGUF format (convert it, or download a .gguf build)'
  else
    what = `${message(err)}. Check that the file is a complete GGUF file of an architecture this llama.cpp build supports (re-download it if it may be truncated)`
  return new MiradorError('RUNTIME_LOAD', `cannot load model ${file}: ${what}`, {
    cause: err,
    details: { file },
  })
}

/** The message of anything thrown (also of errors from another realm, e.g. a native addon under jest). */
export function message(err: unknown): string {
  const m = (err as { message?: unknown } | null)?.message
  return typeof m === 'string' ? m : String(err)
}
