/**
 * The model manager, as a plugin on the `model` hook. A stage's model name is looked up in
 * models/manifest.yaml (runtime, base, adapter, host, size, priority); a name the manifest lacks
 * is an Ollama tag. Nothing loads at start-up: a model is made ready the first time a stage needs
 * it (pulled, created with its adapter, preloaded), within the manifest's budget, evicting idle
 * models by the policy in eviction.ts. A model whose runtime does not answer runs on its `fallback:`
 * entry (fallback.ts). Runtimes are created once per runtime and settings and
 * shared (the engine keeps them), so a GGUF base is loaded once per process whatever adapters ride on it.
 */
import path from 'node:path'
import { loadConfigFile, type Loaded, type ManifestFile } from '../../engine/config/index.js'
import type { PluginHost } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import { builtinOptionsSchema, validatePluginOptions } from '../../engine/plugin-options.js'
import type { Runtime } from '../../engine/runtime.js'
import type { LoadedModel, ModelRef, StageContext } from '../../engine/types.js'
import { availability, AVAILABLE_CAPABILITY } from './availability.js'
import { budgetOf, type Budget } from './budget.js'
import { EvictionPolicy } from './eviction.js'
import { ModelManager } from './manager.js'
import { fallbackMessage, fallbackMissingError, FallbackNotices, runtimeDown } from './fallback.js'
import { fallbackProblem, missingLocalFile, resolveModel, type ResolvedModel } from './resolve.js'
import type { ModelsOptions } from './options.gen.js'
import { loadUsage, saveUsage } from './usage-store.js'
import { ModelFileVerifier } from './verify.js'

const PLUGIN_NAME = 'ModelsPlugin'

export type { ModelsOptions as ModelsPluginOptions } from './options.gen.js'

export class ModelsPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly options: ModelsOptions
  #manifest?: Promise<Loaded<ManifestFile> | undefined>
  #manager?: Promise<ModelManager>
  #budget?: Promise<Budget>
  #verifier?: ModelFileVerifier
  #host?: PluginHost
  readonly #notices = new FallbackNotices()
  #wanted?: string

  constructor(options: ModelsOptions = {}) {
    this.options = validatePluginOptions<ModelsOptions>(PLUGIN_NAME, builtinOptionsSchema('models'), options)
  }

  apply(engine: PluginHost): void {
    this.#host = engine
    // once the plan is final (after other plugins swapped models), what the runtimes hold is asked
    // for while the prompts are built, so the first request does not wait for it
    engine.hooks.plan.tap({ name: PLUGIN_NAME, stage: 100 }, (plan) => {
      this.#warm(Object.values(plan.stages).map((s) => s.model))
      return plan
    })
    engine.hooks.model.tapPromise(PLUGIN_NAME, (ref: ModelRef, ctx: StageContext) => this.#provide(ref, ctx))
    engine.hooks.runDone.tapPromise(PLUGIN_NAME, () => this.saveUsage())
    // other plugins (energy) weigh models by the size the manifest declares
    engine.registerCapability('models.size', async (args) => {
      const model = (args as { model?: unknown } | null)?.model
      if (typeof model !== 'string') throw new MiradorError('TOOL_INVALID', 'models.size needs { model: a name }')
      return { sizeGb: (await this.resolve(model).catch(() => undefined))?.sizeGb ?? null }
    })
    // the learner routes only to chains whose models can run here
    engine.registerCapability(AVAILABLE_CAPABILITY, async (args) => {
      const model = (args as { model?: unknown } | null)?.model
      if (typeof model !== 'string') throw new MiradorError('TOOL_INVALID', 'models.available needs { model: a name }')
      return availability(
        () => this.resolve(model),
        (name) => engine.hasRuntime(name),
      )
    })
  }

  #warm(models: string[]): void {
    void (async () => {
      const manager = await this.manager()
      const runtimes = new Set((await Promise.all(models.map((m) => this.resolve(m)))).map((r) => this.runtime(r)))
      await Promise.all([...runtimes].map((r) => manager.warm(r)))
    })().catch(() => {
      // a model that cannot be resolved fails in its stage, with its own message
    })
  }

  async #provide(ref: ModelRef, ctx: StageContext): Promise<LoadedModel> {
    const r = await this.resolve(ref.name)
    try {
      return await this.#acquire(r, ctx)
    } catch (err) {
      // off the fast path: only a runtime that does not answer gets here
      return this.#acquire(await this.#fallback(r, err, ctx), ctx)
    }
  }

  /** The entry to run instead of `r`, whose runtime failed with `err`; rethrows `err` when there is none. */
  async #fallback(r: ResolvedModel, err: unknown, ctx: StageContext): Promise<ResolvedModel> {
    if (r.fallback === undefined || !runtimeDown(err)) throw err
    const manifest = await this.manifest()
    const problem = manifest && fallbackProblem(manifest, r.name)
    if (problem) throw problem
    const to = await this.resolve(r.fallback)
    if (missingLocalFile(to)) {
      this.#wanted = to.name
      throw fallbackMissingError(r, to, err)
    }
    if (this.#notices.first(ctx.runId)) {
      const host = err.details?.host
      ctx.emit({
        type: 'model-fallback',
        stage: ctx.stage,
        model: r.name,
        fallback: to.name,
        file: to.display,
        ...(typeof host === 'string' ? { host } : {}),
        message: fallbackMessage(r, to, err),
      })
    }
    return to
  }

  /**
   * A fallback a run needed but that is not downloaded (its entry name), for the CLI to offer the
   * download once the run is over; undefined when none was.
   */
  wantedDownload(): string | undefined {
    return this.#wanted
  }

  async #acquire(r: ResolvedModel, ctx: StageContext): Promise<LoadedModel> {
    const runtime = this.runtime(r)
    const manager = await this.manager()
    const { slot, prepared } = await manager.acquire(r, runtime, ctx.emit, ctx.signal)
    const keepAlive = r.spec.keepAlive
    let released = false
    return {
      name: r.display,
      runtime: r.runtime,
      // a run's keep_alive (an energy profile's) wins over the manifest's
      generate: (request) =>
        runtime.generate({
          ...request,
          model: prepared.model,
          ...(prepared.adapters ? { adapters: prepared.adapters } : {}),
          ...(request.keepAlive === undefined && keepAlive !== undefined ? { keepAlive } : {}),
        }),
      release: () => {
        if (released) return
        released = true
        manager.release(slot)
      },
    }
  }

  #engine(): PluginHost {
    if (!this.#host) throw new MiradorError('INTERNAL', `${PLUGIN_NAME} used before apply()`)
    return this.#host
  }

  /** the manifest, loaded on first use and once */
  manifest(): Promise<Loaded<ManifestFile> | undefined> {
    const { cwd, manifest } = this.#engine().settings
    const file = this.options.manifest ? path.resolve(cwd, this.options.manifest) : manifest
    this.#manifest ??= file ? loadConfigFile<ManifestFile>(file, 'manifest') : Promise.resolve(undefined)
    return this.#manifest
  }

  budget(): Promise<Budget> {
    this.#budget ??= this.manifest().then((m) => budgetOf(m?.value))
    return this.#budget
  }

  /** What a model name stands for: runtime, spec, memory unit, size, priority. */
  async resolve(name: string): Promise<ResolvedModel> {
    return resolveModel(this.#engine().settings, await this.manifest(), name)
  }

  /** Every manifest entry, resolved (an entry that cannot be resolved is reported, not thrown). */
  async entries(): Promise<{ name: string; resolved?: ResolvedModel; error?: MiradorError }[]> {
    const m = await this.manifest()
    return Object.keys(m?.value.models ?? {}).map((name) => {
      try {
        return { name, resolved: resolveModel(this.#engine().settings, m, name) }
      } catch (err) {
        return { name, error: MiradorError.from(err) }
      }
    })
  }

  /** The runtime for a resolved model: the engine's, shared with every plugin that asks for the same settings. */
  runtime(r: ResolvedModel): Runtime {
    return this.#engine().runtime(r.runtime, r.settings)
  }

  manager(): Promise<ModelManager> {
    this.#manager ??= (async () => {
      // with memory off nothing of earlier runs is read back either
      const settings = this.#engine().settings
      const snapshot = settings.memory ? await loadUsage(settings.home) : undefined
      const entries = await this.entries()
      return new ModelManager({
        budget: () => this.budget(),
        policy: new EvictionPolicy({}, snapshot),
        adoptable: (runtime) =>
          entries.flatMap((e) => (e.resolved && this.runtime(e.resolved) === runtime ? [e.resolved] : [])),
        verify: (r, emit, signal) =>
          this.verifier().assert(r, {
            ...(signal && { signal }),
            // hashing a large pinned file: drawn as a download is
            onProgress: ({ file, done, total }) =>
              emit({
                type: 'model-pull',
                model: r.display,
                status: `verifying sha256 of ${path.basename(file)}`,
                completed: done,
                total,
              }),
          }),
      })
    })()
    return this.#manager
  }

  /** Checks manifest entries' files before they load (verify.ts); one per plugin, so a file is checked once. */
  verifier(): ModelFileVerifier {
    this.#verifier ??= new ModelFileVerifier(this.#engine().settings.home)
    return this.#verifier
  }

  /** Keeps what the policy learned for the next run (only when a model was asked for, and memory is on). */
  async saveUsage(): Promise<void> {
    if (!this.#manager || !this.#engine().settings.memory) return
    const manager = await this.#manager
    if (!manager.dirty) return
    manager.dirty = false
    await saveUsage(this.#engine().settings.home, manager.options.policy.snapshot())
  }
}
