/**
 * The Ollama test double's model store: which models are on disk or only pullable, which are
 * loaded and until when (`keep_alive`, as Ollama applies it), and how a model is described in
 * `details` and `/api/tags` entries. Apart from ollama-server.ts, which is about the HTTP routes.
 */
import { createHash } from 'node:crypto'
import { hash32, normalizeModelName } from './ollama-generation.js'
import { parseKeepAlive } from './ollama-http.js'
import type { LoadedModel, TestModel } from './ollama-server-types.js'

/** One model the server knows: on disk (`present`) or only pullable. */
export interface ModelState {
  name: string
  size: number
  present: boolean
  digest: string
  modifiedAt: string
  spec: TestModel
  /** a model made by `/api/create`: the model it was created from */
  from?: string
  /** a model made by `/api/create`: its adapters (file name and "sha256:<hex>" digest) */
  adapters?: Array<{ name: string; digest: string }>
}

/** the models a server has when `models` is not given */
export const DEFAULT_MODELS: readonly TestModel[] = [
  { name: 'llama3.2:1b', size: 1_321_098_329, family: 'llama', parameterSize: '1.2B' },
  { name: 'qwen2.5:7b', size: 4_683_087_332, family: 'qwen2', parameterSize: '7.6B' },
]

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')
export const nowIso = (): string => new Date().toISOString()

/** A store holding `initial` (names normalized: "llama3.2" is "llama3.2:latest"). */
export function createModelStore(initial: readonly TestModel[]) {
  const models = new Map<string, ModelState>()
  const loaded = new Map<string, { expiresAt: number }>()

  const addModel = (m: TestModel): void => {
    const name = normalizeModelName(m.name)
    models.set(name, {
      name,
      size: m.size ?? 500_000_000 + (hash32(name) % 4_000_000_000),
      present: m.present ?? true,
      digest: sha256(`${name}/manifest`),
      modifiedAt: nowIso(),
      spec: m,
    })
  }
  for (const m of initial) addModel(m)

  /**
   * What `/api/create` with `from` and `adapters` writes: a model of its own (replacing one of the
   * same name, as Ollama does), as big as its base plus the adapters, replying like its base but
   * marked by its adapters (see `adaptedReply`).
   */
  const createDerived = (
    name: string,
    base: ModelState,
    adapters: Array<{ name: string; digest: string; bytes: number }>,
  ): ModelState => {
    const n = normalizeModelName(name)
    const extra = adapters.reduce((sum, a) => sum + a.bytes, 0)
    const state: ModelState = {
      name: n,
      size: base.size + extra,
      present: true,
      digest: sha256(`${n}/manifest/${base.digest}/${adapters.map((a) => a.digest).join(',')}`),
      modifiedAt: nowIso(),
      spec: { ...base.spec, name: n, size: base.size + extra },
      from: base.name,
      adapters: adapters.map((a) => ({ name: a.name, digest: a.digest })),
    }
    models.set(n, state)
    loaded.delete(n)
    return state
  }

  const find = (name: unknown): ModelState | undefined =>
    typeof name === 'string' && name.trim() ? models.get(normalizeModelName(name)) : undefined
  const presentModel = (name: unknown): ModelState | undefined => {
    const m = find(name)
    return m?.present ? m : undefined
  }

  const isLoaded = (name: string): boolean => {
    const e = loaded.get(name)
    if (!e) return false
    if (e.expiresAt <= Date.now()) {
      loaded.delete(name)
      return false
    }
    return true
  }
  const touch = (m: ModelState, keepAlive: unknown): { loadNs: number } => {
    const ms = parseKeepAlive(keepAlive)
    const was = isLoaded(m.name)
    loaded.set(m.name, { expiresAt: Date.now() + ms })
    return { loadNs: was ? 0 : 1_000_000 + (hash32(m.name) % 50_000_000) }
  }
  /** keep_alive 0: Ollama unloads when the request is done */
  const release = (m: ModelState): void => {
    const e = loaded.get(m.name)
    if (e && e.expiresAt <= Date.now()) loaded.delete(m.name)
  }

  const details = (m: ModelState): Record<string, unknown> => {
    const family = m.spec.family ?? 'llama'
    return {
      parent_model: m.from ?? '',
      format: 'gguf',
      family,
      families: [family],
      parameter_size: m.spec.parameterSize ?? '1B',
      quantization_level: m.spec.quantization ?? 'Q4_K_M',
    }
  }

  const tagEntry = (m: ModelState): Record<string, unknown> => ({
    name: m.name,
    model: m.name,
    modified_at: m.modifiedAt,
    size: m.size,
    digest: m.digest,
    details: details(m),
  })

  const loadedList = (): LoadedModel[] =>
    [...models.values()]
      .filter((m) => isLoaded(m.name))
      .map((m) => ({
        name: m.name,
        size: m.size,
        expiresAt: new Date(Math.min(loaded.get(m.name)!.expiresAt, 8.64e15)),
      }))

  /** unloads a model now (an empty request with keep_alive 0, or a delete) */
  const unload = (name: string): void => {
    loaded.delete(name)
  }
  /** the models on disk, in the order they were added */
  const presentModels = (): ModelState[] => [...models.values()].filter((m) => m.present)
  const byName = (name: string): ModelState | undefined => models.get(name)

  return {
    addModel,
    createDerived,
    find,
    presentModel,
    touch,
    release,
    unload,
    details,
    tagEntry,
    loadedList,
    presentModels,
    byName,
  }
}
