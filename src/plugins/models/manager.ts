/**
 * Keeps models loaded within a budget (memory and number of models), loading each the first time
 * a stage needs it and evicting idle ones as the eviction policy says. A model a stage is using is
 * never evicted: a load that cannot make room waits until a stage releases one. Emits
 * `model-load`, `model-evict` and `model-wait` events, and `model-pull` for download progress.
 */
import { MiradorError } from '../../engine/errors.js'
import type { PreparedModel, Runtime } from '../../engine/runtime.js'
import type { StageContext } from '../../engine/types.js'
import type { Budget } from './budget.js'
import type { EvictionPolicy } from './eviction.js'
import { nearMissBeforePull } from './near-miss.js'
import { missingLocalFile, type ResolvedModel } from './resolve.js'

export type Emit = StageContext['emit']

export interface Slot {
  key: string
  display: string
  runtimeName: string
  runtime: Runtime
  /** what the runtime calls it once prepared (PreparedModel.model) */
  model: string
  sizeGb: number
  priority: number
  /** stages using it now */
  inUse: number
  state: 'loading' | 'ready'
  /** per manifest entry on this slot: how to ask for it (llama.cpp entries differ by adapters) */
  prepared: Map<string, PreparedModel>
  loadedAt: number
}

export interface ManagerOptions {
  budget: () => Promise<Budget>
  policy: EvictionPolicy
  /** manifest models that may already be loaded on a runtime (adopted when found there) */
  adoptable?: (runtime: Runtime) => ResolvedModel[]
  /** checks a model's files before it is loaded (verify.ts); throws what is wrong */
  verify?: (r: ResolvedModel, emit: Emit, signal?: AbortSignal) => Promise<void>
}

const GB = 1e9

export class ModelManager {
  readonly slots = new Map<string, Slot>()
  readonly #pending = new Map<string, Promise<Slot>>()
  readonly #reconciled = new WeakMap<Runtime, Promise<void>>()
  #waiters: (() => void)[] = []
  /** a request was recorded since the policy was last saved */
  dirty = false

  constructor(readonly options: ManagerOptions) {}

  /** Makes `r` ready and marks it in use; call `release` when the stage is done with it. */
  async acquire(
    r: ResolvedModel,
    runtime: Runtime,
    emit: Emit,
    signal?: AbortSignal,
  ): Promise<{ slot: Slot; prepared: PreparedModel }> {
    this.options.policy.record(r.key)
    this.dirty = true
    // what the runtime already holds (an earlier run's models) counts as loaded
    await this.#reconcile(runtime)
    for (;;) {
      const slot = this.slots.get(r.key)
      if (slot?.state === 'ready') return this.#use(slot, r, emit, signal)
      const pending = this.#pending.get(r.key)
      if (pending) {
        await pending.catch(() => {})
        continue
      }
      const load = this.#load(r, runtime, emit, signal)
      this.#pending.set(r.key, load)
      try {
        const loaded = await load
        return { slot: loaded, prepared: loaded.prepared.get(r.name)! }
      } finally {
        this.#pending.delete(r.key)
      }
    }
  }

  /** Asks the runtime what it has loaded now, ahead of the first `acquire` (which would wait for it). */
  warm(runtime: Runtime): Promise<void> {
    return this.#reconcile(runtime)
  }

  release(slot: Slot): void {
    slot.inUse = Math.max(0, slot.inUse - 1)
    this.#wake()
  }

  /** Unloads a model now (`models unload`, or eviction). Refuses one in use. */
  async unload(slot: Slot, emit: Emit | undefined, reason: string): Promise<void> {
    if (slot.inUse > 0)
      throw new MiradorError(
        'USAGE',
        `${slot.display} is in use by a running stage; it is unloaded when the stage ends`,
      )
    this.slots.delete(slot.key)
    await this.#unloadFromRuntime(slot, emit, reason)
  }

  /** memory the loaded models take, GB */
  usedGb(except?: string): number {
    let gb = 0
    for (const s of this.slots.values()) if (s.key !== except) gb += s.sizeGb
    return gb
  }

  async #use(
    slot: Slot,
    r: ResolvedModel,
    emit: Emit,
    signal?: AbortSignal,
  ): Promise<{ slot: Slot; prepared: PreparedModel }> {
    slot.inUse++
    try {
      let prepared = slot.prepared.get(r.name)
      if (!prepared) {
        // another entry on a loaded base (an adapter on a shared llama.cpp model): cheap
        await this.options.verify?.(r, emit, signal)
        prepared = await this.#prepare(r, slot.runtime, undefined, signal)
        slot.prepared.set(r.name, prepared)
      }
      return { slot, prepared }
    } catch (err) {
      this.release(slot)
      throw err
    }
  }

  async #prepare(
    r: ResolvedModel,
    runtime: Runtime,
    emit: Emit | undefined,
    signal?: AbortSignal,
  ): Promise<PreparedModel> {
    if (!runtime.prepare) return { model: r.spec.base, ...(r.spec.adapters ? { adapters: r.spec.adapters } : {}) }
    return runtime.prepare(r.spec, {
      ...(signal ? { signal } : {}),
      onProgress: (p) => emit?.({ type: 'model-pull', model: r.display, ...p }),
    })
  }

  async #load(r: ResolvedModel, runtime: Runtime, emit: Emit, signal?: AbortSignal): Promise<Slot> {
    const missing = missingLocalFile(r)
    if (missing) throw missing
    // before anything is evicted for it: a file that fails its checks loads nothing
    await this.options.verify?.(r, emit, signal)
    const typo = await nearMissBeforePull(r.name, r.nearMiss, runtime)
    if (typo) emit({ type: 'error', code: typo.code, message: typo.message })
    const sizeGb = r.sizeGb ?? 0
    let waited = false
    for (;;) {
      const budget = await this.options.budget()
      await this.#reconcile(runtime)
      if (sizeGb > budget.memoryGb) {
        throw new MiradorError(
          'MODEL_BUDGET',
          `${r.display} needs ${sizeGb} GB, more than the ${budget.memoryGb} GB budget. ` +
            'Raise budget.memory_gb in models/manifest.yaml, or use a smaller model.',
        )
      }
      const others = [...this.slots.values()]
      const need = { slots: others.length + 1 - budget.maxLoaded, gb: this.usedGb() + sizeGb - budget.memoryGb }
      const idle = others.filter((s) => s.inUse === 0 && s.state === 'ready')
      const victims = this.options.policy.victims(idle, need)
      if (!victims) {
        if (!waited)
          emit({
            type: 'model-wait',
            model: r.display,
            reason:
              `the budget (${budget.memoryGb} GB, ${budget.maxLoaded} models) is taken by models in use; ` +
              'waiting for one to be released',
          })
        waited = true
        await this.#released(signal)
        continue
      }
      // from here to the new slot nothing awaits, so concurrent loads see one consistent state
      for (const v of victims as Slot[]) this.slots.delete(v.key)
      const slot: Slot = {
        key: r.key,
        display: r.display,
        runtimeName: r.runtime,
        runtime,
        model: r.spec.base,
        sizeGb,
        priority: r.priority,
        inUse: 1,
        state: 'loading',
        prepared: new Map(),
        loadedAt: Date.now(),
      }
      this.slots.set(r.key, slot)
      await Promise.all(
        (victims as Slot[]).map((v) => this.#unloadFromRuntime(v, emit, `to make room for ${r.display}`)),
      )
      const t0 = performance.now()
      try {
        const prepared = await this.#prepare(r, runtime, emit, signal)
        slot.prepared.set(r.name, prepared)
        slot.model = prepared.model
        if (r.sizeGb === undefined && prepared.sizeBytes) slot.sizeGb = prepared.sizeBytes / GB
      } catch (err) {
        this.slots.delete(r.key)
        this.#wake()
        throw err
      }
      slot.state = 'ready'
      emit({
        type: 'model-load',
        model: r.display,
        runtime: r.runtime,
        ms: Math.round(performance.now() - t0),
        sizeGb: Math.round(slot.sizeGb * 1000) / 1000,
        adapters: r.spec.adapters?.length ?? 0,
        evicted: (victims as Slot[]).map((v) => v.display),
      })
      return slot
    }
  }

  async #unloadFromRuntime(slot: Slot, emit: Emit | undefined, reason: string): Promise<void> {
    this.#wake()
    try {
      await slot.runtime.unload?.(slot.model)
      emit?.({
        type: 'model-evict',
        model: slot.display,
        runtime: slot.runtimeName,
        sizeGb: Math.round(slot.sizeGb * 1000) / 1000,
        reason,
      })
    } catch (err) {
      const e = MiradorError.from(err)
      emit?.({
        type: 'model-evict',
        model: slot.display,
        runtime: slot.runtimeName,
        sizeGb: slot.sizeGb,
        reason,
        failed: `${e.code}: ${e.message}`,
      })
    }
  }

  /**
   * Once per runtime: what it has loaded now. Models it no longer holds (Ollama's keep_alive ran
   * out) are forgotten; manifest models it holds from an earlier run are adopted, so they count
   * against the budget and can be evicted like ours.
   */
  #reconcile(runtime: Runtime): Promise<void> {
    let done = this.#reconciled.get(runtime)
    if (!done) {
      done = (async () => {
        if (!runtime.listLoaded) return
        const loaded = await runtime.listLoaded().catch(() => undefined)
        if (!loaded) return
        const names = new Set(loaded.map((l) => l.model))
        for (const s of this.slots.values())
          if (s.runtime === runtime && s.state === 'ready' && s.inUse === 0 && !names.has(s.model))
            this.slots.delete(s.key)
        for (const r of this.options.adoptable?.(runtime) ?? []) {
          const info = loaded.find((l) => l.model === r.spec.base || l.model === `${r.spec.base}:latest`)
          if (!info || this.slots.has(r.key) || r.spec.adapters) continue
          const sizeGb = r.sizeGb ?? info.sizeBytes / GB
          this.slots.set(r.key, {
            key: r.key,
            display: r.display,
            runtimeName: r.runtime,
            runtime,
            model: info.model,
            sizeGb,
            priority: r.priority,
            inUse: 0,
            state: 'ready',
            // loaded means present and ready: nothing to prepare before the first request
            prepared: new Map([[r.name, { model: info.model, sizeBytes: info.sizeBytes }]]),
            loadedAt: Date.now(),
          })
        }
      })()
      this.#reconciled.set(runtime, done)
    }
    return done
  }

  #released(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new MiradorError('ABORTED', 'the run was cancelled'))
      const onAbort = () => reject(new MiradorError('ABORTED', 'the run was cancelled'))
      signal?.addEventListener('abort', onAbort, { once: true })
      this.#waiters.push(() => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      })
    })
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const w of waiters) w()
  }
}
