/**
 * Every hook of Mirador, typed, in one frozen object: this is the public plugin API (see
 * docs/plugins.md). Each hook's kind follows its meaning, as tapable's README advises: a waterfall
 * transforms a value, a bail lets one tap answer, a parallel hook fans out side effects.
 */
import { AsyncParallelHook, AsyncSeriesBailHook, AsyncSeriesHook, AsyncSeriesWaterfallHook, SyncHook } from 'tapable'
import type { RunEvent } from './events.js'
import type {
  ForgetRequest,
  LoadedModel,
  ModelRef,
  Prompt,
  Rating,
  RouteAnswer,
  RoutePriors,
  RouteRequest,
  RunContext,
  RunPlan,
  RunResult,
  StageContext,
  StageResult,
  ToolCall,
  ToolResult,
  ToolOffer,
} from './types.js'

export function createHooks() {
  return Object.freeze({
    /** `chain: auto`: the first tap to answer picks the chain a query runs on. */
    route: new AsyncSeriesBailHook<[RouteRequest, RunContext], RouteAnswer | undefined>(['request', 'context']),
    /**
     * Adds outside evidence to a router's beliefs (a community prior); the first argument is
     * returned filled. Called once per route, and by `learn report`, without a run.
     */
    priors: new AsyncSeriesWaterfallHook<[RoutePriors]>(['priors']),
    /** Transforms the plan of a run before any stage starts (swap models, drop stages). */
    plan: new AsyncSeriesWaterfallHook<[RunPlan, RunContext]>(['plan', 'context']),
    /** Transforms a stage's prompt before its template is filled (add variables such as memory). */
    prompt: new AsyncSeriesWaterfallHook<[Prompt, StageContext]>(['prompt', 'context']),
    /** The first tap to answer provides the model a stage runs on. */
    model: new AsyncSeriesBailHook<[ModelRef, StageContext], LoadedModel | undefined>(['ref', 'context']),
    /** Transforms the tools offered to a stage (and how many rounds of calls it may make). */
    tools: new AsyncSeriesWaterfallHook<[ToolOffer, StageContext]>(['offer', 'context']),
    /** The first tap to answer executes a tool call. */
    toolCall: new AsyncSeriesBailHook<[ToolCall, StageContext], ToolResult | undefined>(['call', 'context']),
    /** Every event of every run, in order (renderers, tracing). Taps must be quick. */
    event: new SyncHook<[RunEvent]>(['event']),
    /** After each stage, in series (confidence gates, bookkeeping). */
    stageDone: new AsyncSeriesHook<[StageResult, StageContext]>(['result', 'context']),
    /** After a run, all taps at once (remember, record); the run's `done` event comes after them. */
    runDone: new AsyncParallelHook<[RunResult, RunContext]>(['result', 'context']),
    /** A user's rating of a run. */
    feedback: new AsyncSeriesHook<[Rating]>(['rating']),
    /** The user asks to forget: every plugin that keeps what runs said erases it. */
    forget: new AsyncSeriesHook<[ForgetRequest]>(['request']),
  })
}

export type Hooks = ReturnType<typeof createHooks>
export type HookName = keyof Hooks
