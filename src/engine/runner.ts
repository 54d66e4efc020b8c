/**
 * Runs the stages of a plan as a graph: each stage starts when the stages it reads have finished,
 * independent stages run at once (up to the plan's concurrency), a failed stage becomes an `error`
 * event and its dependents are skipped, and `skip_when` rules cancel or skip stages that a
 * confident earlier answer makes unnecessary.
 */
import { buildGraph, type ChainGraph } from './chain.js'
import { MiradorError } from './errors.js'
import { parseOutput, requestFormat } from './format.js'
import type { Hooks } from './hooks.js'
import { renderTemplate, unknownVars, unknownVarsWarning } from './template.js'
import type { ToolCallRequest, ToolTurn } from './runtime.js'
import type { Prompt, RunContext, RunPlan, Stage, StageContext, StageResult, ToolResult } from './types.js'

const DEFAULT_CONFIDENCE = 0.5
/** rounds of tool calls a stage may make unless the `tools` hook says otherwise */
export const DEFAULT_TOOL_ROUNDS = 4

export function round(x: number): number {
  return Math.round(x * 1000) / 1000
}

function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0
  const waiting: (() => void)[] = []
  return async (task) => {
    if (running >= max) await new Promise<void>((resolve) => waiting.push(resolve))
    running++
    try {
      return await task()
    } finally {
      running--
      waiting.shift()?.()
    }
  }
}

interface RunState {
  hooks: Hooks
  plan: RunPlan
  graph: ChainGraph
  run: RunContext
  emit: RunContext['emit']
  signal: AbortSignal
  /** emit each stage's filled prompt (`--show-prompt`) */
  showPrompt: boolean
  /** template variables plugins fill (the rest of a template's unknown names are warned about) */
  declaredVars: ReadonlySet<string>
  results: Map<string, StageResult>
  /** stages cancelled by a skip rule, with the reason */
  cancelled: Map<string, string>
  controllers: Map<string, AbortController>
}

export async function runStages(
  hooks: Hooks,
  plan: RunPlan,
  run: RunContext,
  options: { showPrompt?: boolean; declaredVars?: ReadonlySet<string> } = {},
): Promise<Map<string, StageResult>> {
  const { emit, signal } = run
  const graph = buildGraph(plan.stages)
  emit({
    type: 'plan',
    chain: plan.chain,
    stages: graph.order.map((stage) => ({
      stage,
      model: plan.stages[stage]!.model,
      after: [...graph.deps.get(stage)!],
    })),
    concurrency: Number.isFinite(plan.concurrency) ? plan.concurrency : graph.order.length,
    ...(plan.ack ? { text: plan.ack } : {}),
  })
  const state: RunState = {
    hooks,
    plan,
    graph,
    run,
    emit,
    signal,
    showPrompt: options.showPrompt === true,
    declaredVars: options.declaredVars ?? new Set(),
    results: new Map(),
    cancelled: new Map(),
    controllers: new Map(),
  }
  const limit = limiter(Math.max(1, plan.concurrency))
  const done = new Map<string, Promise<StageResult>>()
  for (const name of graph.order) {
    done.set(
      name,
      (async () => {
        const deps = await Promise.all([...graph.deps.get(name)!].map((d) => done.get(d)!))
        const blocked = deps.find((r) => r.status !== 'ok')
        const reason = signal.aborted
          ? 'the run was cancelled'
          : blocked
            ? `it needs stage "${blocked.stage}", which ${blocked.status === 'error' ? 'failed' : 'was skipped'}`
            : skipBeforeStart(state, name)
        const result = reason
          ? skip(state, name, reason)
          : await limit(() =>
              state.cancelled.has(name)
                ? Promise.resolve(skip(state, name, state.cancelled.get(name)!))
                : runStage(state, name),
            )
        state.results.set(name, result)
        applySkipRules(state, result)
        return result
      })(),
    )
  }
  await Promise.all(done.values())
  // keep declaration order for the result
  return new Map(Object.keys(plan.stages).map((n) => [n, state.results.get(n)!]))
}

function skipReason(rule: { stage: string; above: number }, r: StageResult | undefined): string | undefined {
  if (r?.status === 'ok' && r.confidence > rule.above)
    return `stage "${rule.stage}" answered with confidence ${round(r.confidence)} > ${rule.above}`
  return undefined
}

function skipBeforeStart(state: RunState, name: string): string | undefined {
  const rule = state.graph.skips.get(name)
  return rule?.beforeStart ? skipReason(rule, state.results.get(rule.stage)) : undefined
}

/** A stage that just ended may make others unnecessary: cancel those running beside it. */
function applySkipRules(state: RunState, ended: StageResult): void {
  for (const [name, rule] of state.graph.skips) {
    if (rule.beforeStart || rule.stage !== ended.stage || state.results.has(name)) continue
    const reason = skipReason(rule, ended)
    if (!reason) continue
    state.cancelled.set(name, reason)
    state.controllers.get(name)?.abort(new MiradorError('ABORTED', reason))
  }
}

function skip(state: RunState, name: string, reason: string): StageResult {
  state.emit({ type: 'stage-skip', stage: name, reason })
  const spec = state.plan.stages[name]!
  return {
    stage: name,
    status: 'skipped',
    model: spec.model,
    output: '',
    tokens: 0,
    confidence: 0,
    confidenceSource: 'declared',
    ms: 0,
    reason,
  }
}

/** Runs one tool call through the `toolCall` hook, with its events; the answer goes back to the model. */
async function runToolCall(hooks: Hooks, ctx: StageContext, call: ToolCallRequest): Promise<ToolTurn> {
  ctx.emit({ type: 'tool-call', stage: ctx.stage, id: call.id, name: call.name, arguments: call.arguments })
  const t0 = performance.now()
  const result: ToolResult = (await hooks.toolCall.promise(call, ctx)) ?? {
    ok: false,
    code: 'TOOL_NOT_FOUND',
    error: `no tool named "${call.name}" is offered to this stage`,
    ms: Math.round(performance.now() - t0),
  }
  ctx.emit(
    result.ok
      ? {
          type: 'tool-result',
          stage: ctx.stage,
          id: call.id,
          name: call.name,
          ok: true,
          ms: result.ms,
          value: result.value,
        }
      : {
          type: 'tool-result',
          stage: ctx.stage,
          id: call.id,
          name: call.name,
          ok: false,
          ms: result.ms,
          code: result.code,
          error: result.error,
        },
  )
  return {
    role: 'tool',
    name: call.name,
    callId: call.id,
    content: JSON.stringify(result.ok ? result.value : { error: result.error, code: result.code }) ?? 'null',
  }
}

function stageVars(results: Map<string, StageResult>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, r] of results) out[name] = { output: r.output, confidence: r.confidence, model: r.model ?? '' }
  return out
}

async function runStage(state: RunState, name: string): Promise<StageResult> {
  const { hooks, plan, emit } = state
  const spec: Stage = plan.stages[name]!
  const controller = new AbortController()
  state.controllers.set(name, controller)
  const signals = [state.signal, controller.signal]
  const timeout = spec.timeout_ms ? AbortSignal.timeout(spec.timeout_ms) : undefined
  if (timeout) signals.push(timeout)
  const signal = AbortSignal.any(signals)
  const ctx: StageContext = {
    ...state.run,
    stage: name,
    spec,
    memory: plan.memory,
    summary: plan.summary,
    signal,
    results: state.results,
  }
  const declared = spec.confidence ?? DEFAULT_CONFIDENCE
  const started = performance.now()
  let output = ''
  /** text deltas seen; the runtime's own count (usage) is preferred when every round gave one */
  let deltas = 0
  let usage: number | undefined = 0
  let logprobSum = 0
  let logprobCount = 0
  let promptTokens: number | undefined
  let modelName = spec.model
  let value: unknown
  // a stage's confidence: the geometric mean of its tokens' probabilities, or the declared one
  const confidenceSoFar = () => (logprobCount > 0 ? Math.exp(logprobSum / logprobCount) : declared)
  const tokenCount = () => (usage !== undefined && usage > 0 ? usage : deltas)
  const finish = (status: StageResult['status'], error?: MiradorError): StageResult => {
    const confidence = confidenceSoFar()
    const result: StageResult = {
      stage: name,
      status,
      model: modelName,
      output,
      tokens: tokenCount(),
      ...(promptTokens !== undefined ? { promptTokens } : {}),
      confidence,
      confidenceSource: logprobCount > 0 ? 'logprobs' : 'declared',
      ms: Math.round(performance.now() - started),
      ...(error ? { error } : {}),
      ...(value !== undefined ? { value } : {}),
    }
    return result
  }
  const failure = (err: unknown): MiradorError => {
    if (state.cancelled.has(name)) return new MiradorError('ABORTED', state.cancelled.get(name)!)
    if (timeout?.aborted)
      return new MiradorError(
        'RUNTIME_TIMEOUT',
        `stage "${name}" took longer than its timeout_ms (${spec.timeout_ms} ms). ` +
          'Raise timeout_ms in the chain, or use a smaller model.',
      )
    if (state.signal.aborted) return new MiradorError('ABORTED', 'the run was cancelled')
    return MiradorError.from(err, 'RUNTIME_FAILED')
  }
  try {
    let prompt: Prompt = {
      template: spec.prompt,
      ...(spec.system !== undefined ? { system: spec.system } : {}),
      vars: { ...plan.vars, query: plan.query, stages: stageVars(state.results) },
    }
    prompt = await hooks.prompt.promise(prompt, ctx)
    const unknown = unknownVars(`${prompt.template}\n${prompt.system ?? ''}`, prompt.vars, state.declaredVars)
    if (unknown.length) emit(unknownVarsWarning(name, unknown))
    const text = renderTemplate(prompt.template, prompt.vars)
    const system = prompt.system === undefined ? undefined : renderTemplate(prompt.system, prompt.vars)
    if (state.showPrompt) emit({ type: 'prompt', stage: name, text, ...(system !== undefined ? { system } : {}) })
    const model = await hooks.model.promise({ name: spec.model, stage: name }, ctx)
    if (!model) {
      throw new MiradorError(
        'MODEL_UNRESOLVED',
        `no runtime provides model "${spec.model}" for stage "${name}". Add it to models/manifest.yaml, ` +
          'or check that the models plugin is not turned off in mirador.config.yaml.',
      )
    }
    modelName = model.name
    emit({ type: 'stage-start', stage: name, model: model.name })
    try {
      // tools the stage may call, and the rounds of calls: generate, run the calls, generate again
      const offer = await hooks.tools.promise({ tools: [], maxRounds: DEFAULT_TOOL_ROUNDS }, ctx)
      const turns: ToolTurn[] = []
      for (let r = 0; ; r++) {
        const useTools = offer.tools.length > 0 && r < offer.maxRounds
        const calls: ToolCallRequest[] = []
        let roundText = ''
        const request = {
          prompt: text,
          ...(system !== undefined ? { system } : {}),
          options: spec.options ?? {},
          logprobs: true,
          ...(spec.format ? { format: requestFormat(spec.format) } : {}),
          signal,
          ...(plan.keepAlive !== undefined ? { keepAlive: plan.keepAlive } : {}),
          ...(useTools ? { tools: offer.tools } : {}),
          ...(turns.length ? { turns } : {}),
        }
        for await (const part of model.generate(request)) {
          if (part.type === 'text-delta') {
            roundText += part.text
            deltas++
            const known = part.logprob !== undefined && Number.isFinite(part.logprob)
            if (known) {
              logprobSum += part.logprob!
              logprobCount++
            }
            emit({
              type: 'token',
              stage: name,
              text: part.text,
              confidence: round(known ? Math.exp(part.logprob!) : declared),
              stageConfidence: round(confidenceSoFar()),
            })
          } else if (part.type === 'tool-call') {
            // runtimes number calls per request: the round makes them unique in the stage
            calls.push({ ...part.call, id: `${r}.${part.call.id}` })
          } else if (part.type === 'progress') {
            const { type: _, ...progress } = part
            emit({ type: 'model-pull', model: model.name, ...progress })
          } else if (part.type === 'finish') {
            // every round's prompt counts (tool rounds send the conversation again)
            if (part.usage.promptTokens !== undefined) promptTokens = (promptTokens ?? 0) + part.usage.promptTokens
            usage =
              usage !== undefined && part.usage.completionTokens > 0 ? usage + part.usage.completionTokens : undefined
            if (part.reason === 'abort') throw failure(new MiradorError('ABORTED', 'the run was cancelled'))
          } else {
            throw failure(part.error)
          }
        }
        output += roundText
        if (calls.length === 0 || !useTools) break
        turns.push({ role: 'assistant', content: roundText, toolCalls: calls })
        for (const call of calls) turns.push(await runToolCall(hooks, ctx, call))
        // the answer is what the model says once the tools have spoken
        output = ''
      }
    } finally {
      model.release?.()
    }
    if (signal.aborted) throw failure(signal.reason)
    if (spec.format) value = parseOutput(name, spec.format, output)
  } catch (err) {
    const error = failure(err)
    if (state.cancelled.has(name)) {
      const r = finish('skipped')
      r.reason = state.cancelled.get(name)!
      emit({ type: 'stage-skip', stage: name, reason: r.reason })
      return r
    }
    emit({ type: 'error', stage: name, code: error.code, message: error.format() })
    return finish('error', error)
  } finally {
    state.controllers.delete(name)
  }
  const result = finish('ok')
  emit({
    type: 'stage-end',
    stage: name,
    model: modelName,
    tokens: result.tokens,
    ...(promptTokens !== undefined ? { promptTokens } : {}),
    confidence: round(result.confidence),
    confidenceSource: result.confidenceSource,
    ms: result.ms,
  })
  await hooks.stageDone.promise(result, ctx)
  return result
}
