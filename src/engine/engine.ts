/**
 * The engine: builds the hooks, applies plugins, keeps the registries plugins share (stage keys,
 * runtimes, capabilities, the chain catalog) and runs chains (run.ts). It knows no capability by
 * name: models, memory, tools and the rest arrive as plugins through the hooks.
 */
import type { MiradorConfig } from './config/types.gen.js'
import { MiradorError } from './errors.js'
import type { RunEvent } from './events.js'
import { guardHooks, type Guard, type TapFailure } from './guard.js'
import { createHooks, type Hooks } from './hooks.js'
import {
  API_VERSION,
  checkPlugin,
  configuredError,
  loadPlugin,
  type ConfiguredPlugin,
  type MiradorPlugin,
  type PluginLoading,
} from './plugins.js'
import type { SandboxedPlugin } from './plugin-sandbox-slot.js'
import { runChain, type ActiveRun, type RunRequest } from './run.js'
import type { Runtime } from './runtime.js'
import { stableKey } from './stable-key.js'
import type { ChainDef, RunResult } from './types.js'

export type { RunRequest } from './run.js'
export type { ChainDef } from './types.js'

/** Folders searched in order (project, user, shipped): the first file of a name wins. */
export interface EngineDirs {
  chains: string[]
  tools: string[]
  profiles: string[]
}

export interface EngineSettings {
  /** the project folder (where chains/ and mirador.config.yaml are looked for) */
  cwd: string
  /** $MIRADOR_HOME */
  home: string
  /** never reach the network to fetch models */
  offline: boolean
  /** false: nothing of a run may be kept or read back (memory, sessions, usage statistics) */
  memory: boolean
  /** mirador.config.yaml, merged with flags and environment */
  config: MiradorConfig
  /** the environment plugins read (they never read process.env themselves) */
  env: Readonly<Record<string, string | undefined>>
  /** the command's flags, for plugins that offer one (`--profile`, `--show-memory`) */
  flags: Readonly<Record<string, unknown>>
  dirs: Readonly<EngineDirs>
  /** models/manifest.yaml in use, when there is one */
  manifest?: string
}

/** What a caller must give; the rest has defaults (the process environment, no flags, no folders). */
export type EngineInit = Omit<EngineSettings, 'env' | 'flags' | 'dirs'> &
  Partial<Pick<EngineSettings, 'env' | 'flags' | 'dirs'>> & {
    /** where chains come from; without it only loaded chains (ChainDef) can run */
    catalog?: ChainCatalog
  }

/** Finds and loads chain files. The CLI provides it; the engine and plugins ask it. */
export interface ChainCatalog {
  /** every chain that can be run by name, loaded (files that fail to load are left out) */
  list(stageKeys: Record<string, object>): Promise<ChainDef[]>
  /** a chain by name or path. Throws MiradorError (CONFIG_NOT_FOUND, CONFIG_INVALID, CHAIN_GRAPH). */
  load(nameOrPath: string, stageKeys: Record<string, object>): Promise<ChainDef>
}

export type RuntimeFactory = (settings: Record<string, unknown>) => Runtime

export interface RuntimeRegistration {
  /** the runtime's settings from Mirador's own (config, flags, environment); overrides go on top */
  settings?: (engine: Readonly<EngineSettings>) => Record<string, unknown>
}

/** What a plugin sees: the hooks and the registries it may add to. */
export interface PluginHost {
  readonly apiVersion: number
  readonly hooks: Hooks
  readonly settings: Readonly<EngineSettings>
  /** adds keys a stage may carry in chain files (JSON Schema per key) */
  registerStageKeys(properties: Record<string, object>): void
  /** the stage keys plugins added (for loading chain files with them) */
  stageKeys(): Record<string, object>
  /** declares the template variables this plugin fills (`memory` → `{{memory}}`), so they are never reported unknown */
  registerTemplateVars(names: string[]): void
  /** every template variable plugins declared */
  templateVars(): ReadonlySet<string>
  /** makes a model back end available by name (`runtime:` in the manifest) */
  registerRuntime(name: string, factory: RuntimeFactory, registration?: RuntimeRegistration): void
  /**
   * The runtime of that name with Mirador's settings for it and `overrides` on top (a model's own
   * host, …): made once per distinct settings and shared by every plugin that asks.
   */
  runtime(name: string, overrides?: Record<string, unknown>): Runtime
  hasRuntime(name: string): boolean
  /** offers a host function to sandboxed tools and other plugins, by name (`memory.search`): JSON in, JSON out */
  registerCapability(name: string, fn: Capability): void
  capability(name: string): Capability | undefined
  /** the chains that can be run by name, loaded once per engine */
  chains(): Promise<ChainDef[]>
}

export type Capability = (args: unknown) => Promise<unknown>

export class Engine implements PluginHost {
  readonly apiVersion = API_VERSION
  readonly hooks: Hooks
  readonly settings: Readonly<EngineSettings>
  /** names of the plugins applied, in order */
  readonly plugins: string[] = []
  /** plugins that could not be loaded or applied; each run reports them */
  readonly pluginErrors: MiradorError[] = []

  readonly #guard: Guard
  readonly #catalog?: ChainCatalog
  readonly #stageKeys: Record<string, object> = {}
  readonly #stageKeyOwners = new Map<string, string>()
  readonly #runtimeFactories = new Map<string, { factory: RuntimeFactory; registration: RuntimeRegistration }>()
  readonly #runtimes = new Map<string, Runtime>()
  readonly #capabilities = new Map<string, Capability>()
  readonly #templateVars = new Set<string>()
  #chains?: Promise<ChainDef[]>
  /** sandboxed plugins, whose processes dispose stops */
  readonly #hosts: SandboxedPlugin[] = []
  /** runs in progress, so a failing tap can be reported in the run it failed in */
  readonly #runs = new Map<string, ActiveRun>()

  constructor({ catalog, ...init }: EngineInit) {
    this.settings = Object.freeze({
      env: process.env,
      flags: {},
      dirs: { chains: [], tools: [], profiles: [] },
      ...init,
    })
    this.#catalog = catalog
    this.hooks = createHooks()
    this.#guard = guardHooks(this.hooks, (f) => this.#tapFailed(f))
  }

  registerStageKeys(properties: Record<string, object>): void {
    for (const [key, schema] of Object.entries(properties)) {
      const owner = this.#stageKeyOwners.get(key)
      if (owner) throw new MiradorError('PLUGIN_FAILED', `stage key "${key}" is already registered by plugin ${owner}`)
      this.#stageKeys[key] = schema
      this.#stageKeyOwners.set(key, this.#guard.current ?? 'unknown')
    }
  }

  /** the stage keys plugins added, for the chain schema */
  stageKeys(): Record<string, object> {
    return { ...this.#stageKeys }
  }

  registerTemplateVars(names: string[]): void {
    for (const n of names) this.#templateVars.add(n)
  }

  templateVars(): ReadonlySet<string> {
    return this.#templateVars
  }

  registerRuntime(name: string, factory: RuntimeFactory, registration: RuntimeRegistration = {}): void {
    this.#runtimeFactories.set(name, { factory, registration })
  }

  hasRuntime(name: string): boolean {
    return this.#runtimeFactories.has(name)
  }

  runtime(name: string, overrides: Record<string, unknown> = {}): Runtime {
    const registered = this.#runtimeFactories.get(name)
    if (!registered) {
      const known = [...this.#runtimeFactories.keys()].join(', ') || 'none'
      throw new MiradorError(
        'MODEL_UNRESOLVED',
        `no plugin provides the runtime "${name}" (registered: ${known}). Check runtime: in models/manifest.yaml.`,
      )
    }
    const settings = { ...registered.registration.settings?.(this.settings), ...overrides }
    const key = `${name} ${stableKey(settings)}`
    let runtime = this.#runtimes.get(key)
    if (!runtime) {
      runtime = registered.factory(settings)
      this.#runtimes.set(key, runtime)
    }
    return runtime
  }

  registerCapability(name: string, fn: Capability): void {
    this.#capabilities.set(name, fn)
  }

  capability(name: string): Capability | undefined {
    return this.#capabilities.get(name)
  }

  chains(): Promise<ChainDef[]> {
    this.#chains ??= this.#catalog ? this.#catalog.list(this.stageKeys()) : Promise.resolve([])
    return this.#chains
  }

  /** A chain by name or path, through the catalog. */
  loadChain(nameOrPath: string): Promise<ChainDef> {
    if (!this.#catalog) {
      return Promise.reject(new MiradorError('INTERNAL', `no chain catalog: cannot look up "${nameOrPath}"`))
    }
    return this.#catalog.load(nameOrPath, this.stageKeys())
  }

  /** Applies a plugin. On failure the plugin's taps are switched off and the error is kept. */
  use(plugin: MiradorPlugin): boolean {
    let name = 'plugin'
    try {
      const p = checkPlugin(plugin, (plugin as { name?: string })?.name ?? 'plugin')
      name = p.name
      this.#guard.current = name
      p.apply(this)
      this.plugins.push(name)
      return true
    } catch (err) {
      this.#guard.disabled.add(name)
      // every report names the plugin, whatever it threw
      const e =
        MiradorError.is(err) && err.details?.plugin
          ? err
          : new MiradorError(
              MiradorError.is(err) ? err.code : 'PLUGIN_FAILED',
              `plugin ${name} failed while it was applied: ${err instanceof Error ? err.message : String(err)}. ` +
                'Its taps are switched off.',
              { cause: err, details: { plugin: name } },
            )
      this.pluginErrors.push(e)
      return false
    } finally {
      this.#guard.current = undefined
    }
  }

  /**
   * Loads and applies the plugins listed in config (how: plugins.ts, PluginLoading). Their errors are
   * placed at their entries and, unless an entry says `optional: true`, stop every run (stopsRuns).
   */
  async useConfigured(plugins: ConfiguredPlugin[], loading: PluginLoading = {}): Promise<void> {
    for (const p of plugins) {
      const before = this.pluginErrors.length
      try {
        const plugin = await loadPlugin(p, { ...loading, home: this.settings.home })
        if ('stop' in plugin && typeof plugin.stop === 'function') this.#hosts.push(plugin as SandboxedPlugin)
        this.use(plugin)
      } catch (err) {
        this.pluginErrors.push(MiradorError.from(err, 'PLUGIN_LOAD'))
      }
      for (let i = before; i < this.pluginErrors.length; i++)
        this.pluginErrors[i] = configuredError(this.pluginErrors[i]!, p)
    }
  }

  /** Runs a chain. Never throws for run-time failures: they are `error` events and `ok: false`. */
  run(req: RunRequest): Promise<RunResult> {
    return runChain(this, req, this.#runs)
  }

  /** Frees every runtime made (sockets, native models) and stops sandboxed plugins' processes. */
  async dispose(): Promise<void> {
    const runtimes = [...this.#runtimes.values()]
    this.#runtimes.clear()
    const hosts = this.#hosts.splice(0)
    await Promise.all([...runtimes.map((r) => r.dispose?.()), ...hosts.map((h) => h.stop())])
  }

  #tapFailed({ hook, plugin, error, args }: TapFailure): void {
    // every hook's arguments carry the run: a plan, a context, an event, a result or a rating
    const carrier = args.find(
      (a): a is { runId: string } => typeof (a as { runId?: unknown } | null)?.runId === 'string',
    )
    const run = carrier && this.#runs.get(carrier.runId)
    const key = `${plugin}:${hook}`
    if (!run || run.reported.has(key)) return
    run.reported.add(key)
    const message =
      `plugin ${plugin} failed in the ${hook} hook: ${error instanceof Error ? error.message : String(error)}. ` +
      'The run goes on without it.'
    const kept = MiradorError.is(error, 'PLUGIN_SANDBOX') || MiradorError.is(error, 'PLUGIN_UNDECLARED')
    const code = kept ? error.code : 'PLUGIN_FAILED'
    const report = () => run.emit({ type: 'error', code, message, plugin })
    // a failing `event` tap is reported once the event being delivered has reached every tap
    if (hook === 'event') queueMicrotask(report)
    else report()
  }
}

/** The events of a run as the `event` hook delivers them: what renderers, servers and tests consume. */
export type { RunEvent }
