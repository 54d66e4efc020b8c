/**
 * The engine: builds the hooks, applies plugins, runs chains. It knows no capability by name:
 * models, memory, tools and the rest arrive as plugins through the hooks.
 */
import type { ChainFile, MiradorConfig } from './config/index.js'
import { MiradorError } from './errors.js'
import type { EventInput, CoreEvent, PluginEvent, RunEvent } from './events.js'
import { guardHooks, type Guard, type TapFailure } from './guard.js'
import { createHooks, type Hooks } from './hooks.js'
import { API_VERSION, checkPlugin, loadPlugin, type MiradorPlugin, type PluginEntry } from './plugins.js'
import type { Runtime } from './runtime.js'
import { newRunId } from './run-id.js'
import { round, runStages } from './runner.js'
import type { RunPlan, RunResult, StageResult } from './types.js'

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
}

export type RuntimeFactory = (settings: Record<string, unknown>) => Runtime

/** What a plugin sees: the hooks and the registries it may add to. */
export interface PluginHost {
  readonly apiVersion: number
  readonly hooks: Hooks
  readonly settings: Readonly<EngineSettings>
  /** adds keys a stage may carry in chain files (JSON Schema per key) */
  registerStageKeys(properties: Record<string, object>): void
  /** the stage keys plugins added (for loading chain files with them) */
  stageKeys(): Record<string, object>
  /** makes a model back end available by name (`runtime:` in the manifest) */
  registerRuntime(name: string, factory: RuntimeFactory): void
  runtimeFactory(name: string): RuntimeFactory | undefined
  /** offers a host function to sandboxed tools, by name (`memory.search`): JSON in, JSON out */
  registerCapability(name: string, fn: Capability): void
  capability(name: string): Capability | undefined
}

export type Capability = (args: unknown) => Promise<unknown>

export interface ChainDef {
  name: string
  file?: string
  value: ChainFile
}

export interface RunRequest {
  chain: ChainDef
  query: string
  /** the conversation this run continues */
  session?: string
  signal?: AbortSignal
  runId?: string
  /** `performance.now()` when the user asked; event times count from it */
  startedAt?: number
  /** false when the caller has already shown the acknowledgment */
  ack?: boolean
  /** extra template variables */
  vars?: Record<string, unknown>
  /** emit each stage's filled prompt as a `prompt` event (`--show-prompt`) */
  showPrompt?: boolean
}

type Emit = (event: EventInput<CoreEvent> | Omit<PluginEvent, 'runId' | 't'>) => void

export class Engine implements PluginHost {
  readonly apiVersion = API_VERSION
  readonly hooks: Hooks
  readonly settings: Readonly<EngineSettings>
  /** names of the plugins applied, in order */
  readonly plugins: string[] = []
  /** plugins that could not be loaded or applied; each run reports them */
  readonly pluginErrors: MiradorError[] = []

  readonly #guard: Guard
  readonly #stageKeys: Record<string, object> = {}
  readonly #stageKeyOwners = new Map<string, string>()
  readonly #runtimes = new Map<string, RuntimeFactory>()
  readonly #capabilities = new Map<string, Capability>()
  /** runs in progress, so a failing tap can be reported in the run it failed in */
  readonly #runs = new Map<string, { emit: Emit; reported: Set<string> }>()

  constructor(settings: EngineSettings) {
    this.settings = Object.freeze({ ...settings })
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

  registerRuntime(name: string, factory: RuntimeFactory): void {
    this.#runtimes.set(name, factory)
  }

  runtimeFactory(name: string): RuntimeFactory | undefined {
    return this.#runtimes.get(name)
  }

  registerCapability(name: string, fn: Capability): void {
    this.#capabilities.set(name, fn)
  }

  capability(name: string): Capability | undefined {
    return this.#capabilities.get(name)
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
              `plugin ${name} failed while it was applied: ${err instanceof Error ? err.message : String(err)}. Mirador goes on without it.`,
              { cause: err, details: { plugin: name } },
            )
      this.pluginErrors.push(e)
      return false
    } finally {
      this.#guard.current = undefined
    }
  }

  /** Loads and applies the plugins listed in config (paths relative to `baseDir`). */
  async useConfigured(entries: PluginEntry[], baseDir: string): Promise<void> {
    for (const entry of entries) {
      try {
        this.use(await loadPlugin(entry, baseDir))
      } catch (err) {
        this.pluginErrors.push(MiradorError.from(err, 'PLUGIN_LOAD'))
      }
    }
  }

  #tapFailed({ hook, plugin, error, args }: TapFailure): void {
    // every hook's arguments carry the run: a plan, a context, an event, a result or a rating
    const carrier = args.find(
      (a): a is { runId: string } => typeof (a as { runId?: unknown } | null)?.runId === 'string',
    )
    const run = carrier && this.#runs.get(carrier.runId)
    const key = `${plugin}:${hook}`
    // Once per plugin and hook per run: a failing `event` tap must not recurse through its own report.
    if (!run || run.reported.has(key)) return
    run.reported.add(key)
    const message = `plugin ${plugin} failed in the ${hook} hook: ${error instanceof Error ? error.message : String(error)}. The run goes on without it.`
    queueMicrotask(() => run.emit({ type: 'error', code: 'PLUGIN_FAILED', message, plugin }))
  }

  /** Runs a chain. Never throws for run-time failures: they are `error` events and `ok: false`. */
  async run(req: RunRequest): Promise<RunResult> {
    const runId = req.runId ?? newRunId()
    const t0 = req.startedAt ?? performance.now()
    // stamps the event in place: events are built fresh for each emit, and a copy per token costs
    const emit: Emit = (e) => {
      const ev = e as RunEvent
      ev.runId = runId
      ev.t = Math.round(performance.now() - t0)
      this.hooks.event.call(ev)
    }
    this.#runs.set(runId, { emit, reported: new Set() })
    try {
      return await this.#run(req, runId, t0, emit)
    } finally {
      this.#runs.delete(runId)
    }
  }

  async #run(req: RunRequest, runId: string, t0: number, emit: Emit): Promise<RunResult> {
    if (req.ack !== false) emit({ type: 'ack', chain: req.chain.name })
    for (const e of this.pluginErrors)
      emit({ type: 'error', code: e.code, message: e.message, plugin: String(e.details?.plugin ?? '') })
    const chain = req.chain.value
    // plan taps may change the stages: they get a copy, never the loaded chain
    const stages = structuredClone(chain.stages)
    let plan: RunPlan = {
      runId,
      chain: req.chain.name,
      ...(req.chain.file ? { file: req.chain.file } : {}),
      query: req.query,
      ...(req.session ? { session: req.session } : {}),
      stages,
      answer: chain.answer ?? Object.keys(stages).reverse(),
      concurrency: Number.POSITIVE_INFINITY,
      vars: { ...req.vars, query: req.query },
      memory: this.settings.memory,
      summary: {},
      ...(chain.ack ? { ack: chain.ack } : {}),
      ...(req.showPrompt ? { showPrompt: true } : {}),
    }
    let results = new Map<string, StageResult>()
    let failure: MiradorError | undefined
    try {
      plan = await this.hooks.plan.promise(plan)
      results = await runStages(this.hooks, plan, emit, req.signal ?? new AbortController().signal)
    } catch (err) {
      failure = MiradorError.from(err)
    }
    return this.#finish(plan, emit, t0, results, failure)
  }

  async #finish(
    plan: RunPlan,
    emit: Emit,
    t0: number,
    results: Map<string, StageResult>,
    failure?: MiradorError,
  ): Promise<RunResult> {
    if (failure) emit({ type: 'error', code: failure.code, message: failure.format() })
    const ok = [...results.values()].filter((r) => r.status === 'ok' && r.output.trim() !== '')
    const best =
      plan.answer.map((n) => results.get(n)).find((r) => r && ok.includes(r)) ??
      [...ok].sort((a, b) => b.confidence - a.confidence)[0]
    // models that produced something: a stage that failed before its first token used none
    const models = [
      ...new Set(
        [...results.values()].flatMap((r) => (r.model && (r.status === 'ok' || r.tokens > 0) ? [r.model] : [])),
      ),
    ]
    const tokens = [...results.values()].reduce((n, r) => n + r.tokens, 0)
    const result: RunResult = {
      runId: plan.runId,
      chain: plan.chain,
      query: plan.query,
      ...(plan.session ? { session: plan.session } : {}),
      memory: plan.memory && this.settings.memory,
      answer: best?.output ?? '',
      answerStage: best?.stage ?? null,
      confidence: best?.confidence ?? 0,
      stages: [...results.values()],
      models,
      tokens,
      ms: Math.round(performance.now() - t0),
      ok: best !== undefined,
    }
    emit({
      type: 'done',
      answer: result.answer,
      stage: result.answerStage,
      confidence: round(result.confidence),
      models,
      tokens,
      ms: result.ms,
      ok: result.ok,
      ...plan.summary,
    })
    await this.hooks.runDone.promise(result)
    return result
  }
}
