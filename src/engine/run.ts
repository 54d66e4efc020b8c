/**
 * One run, from `ack` to `done`: the chain (given, looked up by name, or picked by the `route` hook),
 * the `plan` waterfall, the stages (runner.ts), the `runDone` taps, then `done`. Every event of the
 * run goes through the engine's `event` hook, and `done` is the last: whatever is emitted after it
 * is dropped, so a consumer can stop reading there.
 */
import { chainDisplayName } from './chain-name.js'
import { MiradorError } from './errors.js'
import type { AckEvent, CoreEvent, EventInput, PluginEvent, RunEvent } from './events.js'
import type { Engine } from './engine.js'
import { requiredPluginsFailed, stopsRuns } from './plugins.js'
import { newRunId } from './run-id.js'
import { round, runStages } from './runner.js'
import type { ChainDef, LogOptions, RunContext, RunPlan, RunResult, StageResult } from './types.js'

export type Emit = (event: EventInput<CoreEvent> | Omit<PluginEvent, 'runId' | 't'>) => void

export interface RunRequest {
  /**
   * The chain: loaded, a name or path the catalog looks up, `auto` (the `route` hook picks one), or
   * a function that loads it (its failure is the run's error, reported like any other).
   */
  chain: ChainDef | string | (() => Promise<ChainDef>)
  query: string
  /** the conversation this run continues */
  session?: string
  /** false: memory is off for this run alone (a server's per-request choice), as --no-memory is for a process */
  memory?: boolean
  signal?: AbortSignal
  runId?: string
  /** `performance.now()` when the user asked; event times count from it */
  startedAt?: number
  /**
   * The `ack` the caller already showed (the CLI prints it before the engine exists): it passes
   * through the `event` hook as it is, so every tap sees it, with the time it was shown.
   */
  ack?: AckEvent
  /** extra template variables */
  vars?: Record<string, unknown>
  /** emit each stage's filled prompt as a `prompt` event */
  showPrompt?: boolean
}

/** A run in progress, as the engine keeps it to report failing taps in it. */
export interface ActiveRun {
  emit: Emit
  reported: Set<string>
}

function contextFor(base: Omit<RunContext, 'emit' | 'log'>, emit: Emit): RunContext {
  return {
    ...base,
    emit,
    log: (message: string, options: LogOptions = {}) =>
      emit({
        type: 'log',
        level: options.level ?? 'info',
        message,
        ...(options.plugin ? { plugin: options.plugin } : {}),
      }),
  }
}

export async function runChain(engine: Engine, req: RunRequest, runs: Map<string, ActiveRun>): Promise<RunResult> {
  const runId = req.ack?.runId ?? req.runId ?? newRunId()
  const t0 = req.startedAt ?? performance.now()
  let over = false
  // stamps the event in place: events are built fresh for each emit, and a copy per token costs
  const emit: Emit = (e) => {
    if (over) return
    const ev = e as RunEvent
    ev.runId = runId
    ev.t = Math.round(performance.now() - t0)
    engine.hooks.event.call(ev)
  }
  runs.set(runId, { emit, reported: new Set() })
  try {
    const signal = req.signal ?? new AbortController().signal
    const requested = typeof req.chain === 'string' ? chainDisplayName(req.chain) : undefined
    const name = typeof req.chain === 'object' ? req.chain.name : (requested ?? 'chain')
    engine.hooks.event.call(req.ack ?? { type: 'ack', chain: name, runId, t: Math.round(performance.now() - t0) })
    for (const e of engine.pluginErrors) {
      emit({ type: 'error', code: e.code, message: e.format(), plugin: String(e.details?.plugin ?? '') })
    }
    const memory = engine.settings.memory && req.memory !== false
    const base = { runId, query: req.query, ...(req.session ? { session: req.session } : {}), memory, signal }
    let ctx = contextFor({ ...base, chain: name }, emit)
    let plan: RunPlan = {
      runId,
      chain: name,
      query: req.query,
      stages: {},
      answer: [],
      concurrency: 1,
      vars: {},
      memory,
      summary: {},
    }
    if (req.session) plan.session = req.session
    let results = new Map<string, StageResult>()
    let failure: MiradorError | undefined
    try {
      const required = engine.pluginErrors.filter(stopsRuns)
      if (required.length > 0) throw requiredPluginsFailed(required)
      const { chain, queryType } = await resolveChain(engine, req, ctx)
      ctx = contextFor({ ...base, chain: chain.name }, emit)
      plan = planFor(chain, req, runId, memory, queryType)
      plan = await engine.hooks.plan.promise(plan, ctx)
      results = await runStages(engine.hooks, plan, ctx, {
        showPrompt: req.showPrompt === true,
        declaredVars: engine.templateVars(),
      })
    } catch (err) {
      failure = MiradorError.from(err)
    }
    const result = await finish(engine, plan, ctx, t0, results, failure)
    over = true
    return result
  } finally {
    over = true
    runs.delete(runId)
  }
}

async function resolveChain(
  engine: Engine,
  req: RunRequest,
  ctx: RunContext,
): Promise<{ chain: ChainDef; queryType?: string }> {
  if (typeof req.chain === 'function') return { chain: await req.chain() }
  if (typeof req.chain === 'object') return { chain: req.chain }
  if (req.chain !== 'auto') return { chain: await engine.loadChain(req.chain) }
  const answer = await engine.hooks.route.promise({ query: req.query }, ctx)
  if (!answer) {
    throw new MiradorError(
      'USAGE',
      'choosing a chain needs a plugin that routes queries (the learner), and none is on. ' +
        'Turn it on (builtins: { learner: true }) or name a chain: mirador chain run CHAIN "QUERY".',
    )
  }
  return answer
}

function planFor(chain: ChainDef, req: RunRequest, runId: string, memory: boolean, queryType?: string): RunPlan {
  // plan taps may change the stages: they get a copy, never the loaded chain
  const stages = structuredClone(chain.value.stages)
  return {
    runId,
    chain: chain.name,
    ...(chain.file ? { file: chain.file } : {}),
    query: req.query,
    ...(req.session ? { session: req.session } : {}),
    stages,
    answer: chain.value.answer ?? Object.keys(stages).reverse(),
    concurrency: Number.POSITIVE_INFINITY,
    vars: { ...req.vars, query: req.query },
    memory,
    summary: {},
    ...(chain.value.ack ? { ack: chain.value.ack } : {}),
    ...(queryType ? { queryType } : {}),
  }
}

async function finish(
  engine: Engine,
  plan: RunPlan,
  ctx: RunContext,
  t0: number,
  results: Map<string, StageResult>,
  failure?: MiradorError,
): Promise<RunResult> {
  if (failure) ctx.emit({ type: 'error', code: failure.code, message: failure.format() })
  const all = [...results.values()]
  const ok = all.filter((r) => r.status === 'ok' && r.output.trim() !== '')
  const best =
    plan.answer.map((n) => results.get(n)).find((r) => r && ok.includes(r)) ??
    [...ok].sort((a, b) => b.confidence - a.confidence)[0]
  // models that produced something: a stage that failed before its first token used none
  const models = [...new Set(all.flatMap((r) => (r.model && (r.status === 'ok' || r.tokens > 0) ? [r.model] : [])))]
  const tokens = all.reduce((n, r) => n + r.tokens, 0)
  const result: RunResult = {
    runId: plan.runId,
    chain: plan.chain,
    ...(plan.file ? { file: plan.file } : {}),
    ...(plan.queryType ? { queryType: plan.queryType } : {}),
    query: plan.query,
    ...(plan.session ? { session: plan.session } : {}),
    memory: plan.memory && engine.settings.memory,
    answer: best?.output ?? '',
    answerStage: best?.stage ?? null,
    confidence: best?.confidence ?? 0,
    stages: all,
    models,
    tokens,
    // the answer's time: what the runDone taps take after it is not the user's wait for it
    ms: Math.round(performance.now() - t0),
    ok: best !== undefined,
  }
  await engine.hooks.runDone.promise(result, ctx)
  ctx.emit({
    type: 'done',
    answer: result.answer,
    stage: result.answerStage,
    confidence: round(result.confidence),
    models,
    tokens,
    ms: result.ms,
    ok: result.ok,
    ...(best?.value !== undefined ? { value: best.value } : {}),
    ...plan.summary,
  })
  return result
}
