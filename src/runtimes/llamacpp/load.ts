/**
 * Lazy, once-per-process loading of node-llama-cpp and of GGUF models.
 *
 * - node-llama-cpp is imported dynamically on first use (it is heavy; start-up must not pay it).
 * - `getLlama` runs once per process (it costs about 0.3–1 s); concurrent callers share the promise.
 *   A failure is not cached, so a later call tries again.
 * - Each GGUF file (by absolute path) is loaded once per process; concurrent first requests share
 *   one load promise. A failed load is forgotten, so a fixed file can be retried. Owners (runtime
 *   instances) are counted: a model is disposed when the last owner releases it.
 * - Every use of a model (a generation, a prepare) holds a lease on it while it runs, so
 *   `unloadModel` can refuse to pull a model out from under a running generation.
 * - LoRA adapters are loaded by node-llama-cpp onto the model the first time a context uses them
 *   and stay with the model until it is disposed; their file sizes are counted in its size.
 */
import { statSync } from 'node:fs'
import path from 'node:path'
import type { Llama, LlamaLogLevel, LlamaModel } from 'node-llama-cpp'
import { MiradorError } from '../../engine/errors.js'

let llamaPromise: Promise<Llama> | undefined
let bindingLoads = 0
let modelLoads = 0
let adapterLoads = 0

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
        'Reinstall the dependencies (npm ci) on this machine; ' +
        'node-llama-cpp needs its prebuilt CPU binary for this platform.',
      { cause: err },
    )
  })
  return llamaPromise
}

interface ModelEntry {
  promise: Promise<LlamaModel>
  /** set once the load has succeeded */
  model?: LlamaModel
  owners: Set<object>
  /** generations / prepares running on the model now */
  active: number
  /** LoRA adapter files attached to the model so far (absolute path → bytes) */
  adapters: Map<string, number>
}

const models = new Map<string, ModelEntry>()

export function modelKey(file: string): string {
  return path.resolve(file)
}

/** A hold on a model for the length of one use; `release` it when done (idempotent). */
export interface ModelLease {
  key: string
  model: Promise<LlamaModel>
  release(): void
  /** records that `files` (absolute path → bytes) are now attached to the model */
  noteAdapters(files: ReadonlyMap<string, number>): void
}

/**
 * The model at `file`, loading it if no one has yet, with a lease counted as a running use until
 * released. `owner` is recorded so the model can be disposed when every owner has released it.
 * The lease's promise rejects with a RUNTIME_LOAD MiradorError.
 */
export function acquireModel(file: string, owner: object): ModelLease {
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
    const created: ModelEntry = { promise, owners: new Set(), active: 0, adapters: new Map() }
    entry = created
    models.set(key, created)
    promise.then(
      (m) => {
        created.model = m
      },
      () => {
        if (models.get(key) === created) models.delete(key)
      },
    )
  }
  const held = entry
  held.owners.add(owner)
  held.active++
  let released = false
  return {
    key,
    model: held.promise,
    release() {
      if (released) return
      released = true
      held.active--
    },
    noteAdapters(files) {
      for (const [f, bytes] of files) {
        if (held.adapters.has(f)) continue
        held.adapters.set(f, bytes)
        adapterLoads++
      }
    },
  }
}

/** Drops `owner`'s hold on every model it acquired; disposes the models nobody holds any more. */
export async function releaseModels(owner: object): Promise<void> {
  const disposals: Promise<void>[] = []
  for (const [key, entry] of models) {
    if (!entry.owners.delete(owner) || entry.owners.size > 0) continue
    models.delete(key)
    disposals.push(disposeEntry(entry))
  }
  await Promise.all(disposals)
}

/**
 * Disposes the model at `file` (and the adapters on it), whoever holds it; a later use loads it
 * again. Nothing happens if it is not loaded. Throws a USAGE MiradorError if a generation or a
 * prepare is running on it (nothing is unloaded then).
 */
export async function unloadModel(file: string): Promise<void> {
  const key = modelKey(file)
  const entry = models.get(key)
  if (!entry) return
  if (entry.active > 0)
    throw new MiradorError(
      'USAGE',
      `cannot unload model ${key}: it is in use by ${entry.active} running generation(s). ` +
        'Wait for them to finish, or abort them, then unload',
      { details: { model: key, active: entry.active } },
    )
  models.delete(key)
  await disposeEntry(entry)
}

async function disposeEntry(entry: ModelEntry): Promise<void> {
  try {
    const m = await entry.promise
    await m.dispose()
  } catch {
    // a failed load has nothing to dispose; a failing dispose leaves nothing to retry
  }
}

/** The models loaded in this process (not those still loading), with their sizes. */
export function loadedModels(): { model: string; sizeBytes: number }[] {
  const out: { model: string; sizeBytes: number }[] = []
  for (const [key, entry] of models)
    if (entry.model) out.push({ model: key, sizeBytes: modelSizeBytes(entry.model, entry.adapters) })
  return out
}

/**
 * Memory a model takes: node-llama-cpp's `model.size` (its tensors in memory; mmap'd pages may
 * count lazily) plus the adapter files attached to it (F32/F16 adapter tensors are loaded as
 * stored). Falls back to the GGUF file size when node-llama-cpp reports nothing.
 */
function modelSizeBytes(model: LlamaModel, adapters: ReadonlyMap<string, number>): number {
  let size = Number(model.size) || 0
  if (size <= 0 && model.filename) {
    try {
      size = statSync(model.filename).size
    } catch {
      size = 0
    }
  }
  for (const bytes of adapters.values()) size += bytes
  return size
}

/** Size of the loaded model at `file` (with its adapters), or undefined if it is not loaded. */
export function loadedModelSize(file: string): number | undefined {
  const entry = models.get(modelKey(file))
  return entry?.model ? modelSizeBytes(entry.model, entry.adapters) : undefined
}

/**
 * Counters for tests and benchmarks: `bindingLoads` = getLlama calls, `modelLoads` = loadModel
 * calls (failed ones included), `adapterLoads` = LoRA adapters attached to a loaded model for the
 * first time (an adapter is loaded once per model; a reloaded model loads it again),
 * `loadedModels` = absolute paths currently held (or loading).
 */
export function llamaCppStats(): {
  bindingLoads: number
  modelLoads: number
  adapterLoads: number
  loadedModels: string[]
} {
  return { bindingLoads, modelLoads, adapterLoads, loadedModels: [...models.keys()] }
}

function loadError(file: string, err: unknown): MiradorError {
  const code = (err as { code?: unknown } | null)?.code
  const name = (err as { name?: unknown; constructor?: { name?: unknown } } | null)?.constructor?.name
  let what: string
  if (code === 'ENOENT') what = 'the file does not exist. Check the path, or download the GGUF file to it'
  else if (code === 'EISDIR') what = 'it is a directory. Point the model at the .gguf file inside it'
  else if (code === 'EACCES' || code === 'EPERM') what = 'permission denied. Make the file readable by this user'
  else if (name === 'InvalidGgufMagicError')
    what =
      'it is not a GGUF file. The llama.cpp runtime needs a model in GGUF format ' +
      '(convert it, or download a .gguf build)'
  else
    what =
      `${message(err)}. Check that the file is a complete GGUF file of an architecture this llama.cpp build ` +
      'supports (re-download it if it may be truncated)'
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
