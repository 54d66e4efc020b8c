/**
 * Provides the model each stage names. A name is looked up in models/manifest.yaml (which says
 * the runtime, the Ollama tag or GGUF file, the host, …); a name the manifest lacks is taken as an
 * Ollama tag. Runtimes are created once per runtime and settings and shared by every stage, so a
 * GGUF file is loaded once per process. Nothing loads before a stage needs it.
 */
import path from 'node:path'
import { loadConfigFile, resolveManifestPath, type Loaded, type ManifestEntry, type ManifestFile } from '../../engine/config/index.js'
import type { PluginHost } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import { validatePluginOptions } from '../../engine/plugin-options.js'
import type { Runtime } from '../../engine/runtime.js'
import type { LoadedModel, ModelRef } from '../../engine/types.js'
import { runtimeSettings } from './settings.js'

const PLUGIN_NAME = 'ModelsPlugin'

export interface ModelsPluginOptions {
  /** path of models/manifest.yaml; without it, every model name is an Ollama tag */
  manifest?: string
}

const optionsSchema = {
  type: 'object',
  properties: { manifest: { type: 'string', minLength: 1 } },
  additionalProperties: false,
}

export interface ResolvedModel {
  name: string
  runtime: string
  /** what the runtime is asked for: an Ollama tag or an absolute GGUF path */
  id: string
  entry?: ManifestEntry
  settings: Record<string, unknown>
}

export class ModelsPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly options: ModelsPluginOptions
  #manifest?: Promise<Loaded<ManifestFile> | undefined>
  readonly #runtimes = new Map<string, Runtime>()

  constructor(options: ModelsPluginOptions = {}) {
    this.options = validatePluginOptions<ModelsPluginOptions>(PLUGIN_NAME, optionsSchema, options)
  }

  apply(engine: PluginHost): void {
    engine.hooks.model.tapPromise(PLUGIN_NAME, async (ref: ModelRef): Promise<LoadedModel | undefined> => {
      const model = await this.resolve(engine, ref.name)
      const factory = engine.runtimeFactory(model.runtime)
      if (!factory) {
        throw new MiradorError('MODEL_UNRESOLVED', `model "${ref.name}" needs runtime "${model.runtime}", which no plugin provides. Check models/manifest.yaml.`)
      }
      const key = `${model.runtime} ${JSON.stringify(model.settings)}`
      let runtime = this.#runtimes.get(key)
      if (!runtime) {
        runtime = factory(model.settings)
        this.#runtimes.set(key, runtime)
      }
      const keepAlive = model.entry?.keep_alive
      const rt = runtime
      return {
        name: model.name,
        runtime: model.runtime,
        generate: (request) => rt.generate({ ...request, model: model.id, ...(keepAlive !== undefined ? { keepAlive } : {}) }),
      }
    })
  }

  /** the manifest, loaded on first use and once */
  manifest(): Promise<Loaded<ManifestFile> | undefined> {
    const file = this.options.manifest
    this.#manifest ??= file ? loadConfigFile<ManifestFile>(file, 'manifest') : Promise.resolve(undefined)
    return this.#manifest
  }

  /** Which runtime, model id and settings a model name stands for. */
  async resolve(engine: PluginHost, name: string): Promise<ResolvedModel> {
    const manifest = await this.manifest()
    const models = manifest?.value.models
    const entry = models && Object.prototype.hasOwnProperty.call(models, name) ? models[name] : undefined
    if (!entry) {
      return { name, runtime: 'ollama', id: name, settings: runtimeSettings(engine.settings, 'ollama') }
    }
    const settings = runtimeSettings(engine.settings, entry.runtime, entry)
    if (entry.runtime === 'llamacpp') {
      // ${VAR} in `file` is expanded now, so a missing variable is named with its manifest line
      const file = resolveManifestPath(manifest!, name) ?? ''
      return { name: path.basename(file), runtime: 'llamacpp', id: file, entry, settings }
    }
    return { name: entry.base ?? name, runtime: entry.runtime, id: entry.base ?? name, entry, settings }
  }
}
