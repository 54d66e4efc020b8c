/**
 * The RunEvent union: what a run says, in order. `--json` prints one per line and the terminal
 * renderer draws the same stream, so anything a user can see is in here. Every event carries the
 * run's `runId` and `t`, milliseconds since the run began. Plugins add their own event types
 * (`PluginEvent`); renderers ignore types they do not know.
 */
import type { ErrorCode } from './errors.js'
import type { Progress } from './runtime.js'

interface Base {
  runId: string
  t: number
}

export interface AckEvent extends Base {
  type: 'ack'
  chain: string
}
/** The plan a run will follow, after plugins have had their say (models swapped, stages dropped). */
export interface PlanEvent extends Base {
  type: 'plan'
  chain: string
  stages: { stage: string; model: string; after: string[] }[]
  concurrency: number
  /** the chain's acknowledgment text, when it declares one */
  text?: string
}
export interface StageStartEvent extends Base {
  type: 'stage-start'
  stage: string
  model: string
}
export interface TokenEvent extends Base {
  type: 'token'
  stage: string
  text: string
  /** probability of this token when the runtime reports log-probabilities, else the stage's declared confidence */
  confidence: number
  /** the stage's confidence so far, as its `stage-end` would say it now (a probability, like every confidence) */
  stageConfidence: number
}
export interface StageEndEvent extends Base {
  type: 'stage-end'
  stage: string
  model: string
  tokens: number
  promptTokens?: number
  confidence: number
  /** where `confidence` came from */
  confidenceSource: 'logprobs' | 'declared'
  ms: number
}
export interface StageSkipEvent extends Base {
  type: 'stage-skip'
  stage: string
  reason: string
}
/** A model being made ready: the runtime's Progress, with the model's name. */
export interface ModelPullEvent extends Base, Progress {
  type: 'model-pull'
  model: string
}
export interface ToolCallEvent extends Base {
  type: 'tool-call'
  stage: string
  id: string
  name: string
  arguments: Record<string, unknown>
}
export interface ToolResultEvent extends Base {
  type: 'tool-result'
  stage: string
  id: string
  name: string
  ok: boolean
  ms: number
  /** what the tool returned (ok) */
  value?: unknown
  /** why it failed (not ok) */
  code?: string
  error?: string
}
export interface DoneEvent extends Base {
  type: 'done'
  /** the best answer the run has ('' when every stage failed) */
  answer: string
  stage: string | null
  confidence: number
  models: string[]
  tokens: number
  ms: number
  ok: boolean
  /** the answer parsed as JSON, when the answering stage has a `format` */
  value?: unknown
  /** what plugins added (e.g. `energy`) */
  [extra: string]: unknown
}
export interface ErrorEvent extends Base {
  type: 'error'
  code: ErrorCode
  message: string
  stage?: string
  plugin?: string
}
/** A plugin's message for the user (`ctx.log`): renderers place it where it does not disturb the stream. */
export interface LogEvent extends Base {
  type: 'log'
  level: 'info' | 'warn'
  message: string
  /** a warning's stable code, when it has one (`TEMPLATE`) */
  code?: ErrorCode
  plugin?: string
  stage?: string
}
/** A stage's prompt once its template is filled (only with `--show-prompt`: it may hold private memories). */
export interface PromptEvent extends Base {
  type: 'prompt'
  stage: string
  text: string
  system?: string
}
/** Events contributed by plugins: any `type` not above, with their own fields. */
export interface PluginEvent extends Base {
  type: `${string}`
  [key: string]: unknown
}

export type CoreEvent =
  | AckEvent
  | PlanEvent
  | StageStartEvent
  | TokenEvent
  | StageEndEvent
  | StageSkipEvent
  | ModelPullEvent
  | ToolCallEvent
  | ToolResultEvent
  | DoneEvent
  | ErrorEvent
  | LogEvent
  | PromptEvent

export type RunEvent = CoreEvent | PluginEvent

/** Every core event's type, once: a plugin's event may not take one (sandbox), renderers know them all. */
export const CORE_EVENT_TYPES = Object.freeze([
  'ack',
  'plan',
  'stage-start',
  'token',
  'stage-end',
  'stage-skip',
  'model-pull',
  'tool-call',
  'tool-result',
  'done',
  'error',
  'log',
  'prompt',
] as const satisfies readonly CoreEvent['type'][])

/** fails to compile when a core event type is missing from the list above */
type MissingCoreType = Exclude<CoreEvent['type'], (typeof CORE_EVENT_TYPES)[number]>
const everyCoreType: [MissingCoreType] extends [never] ? true : never = true
void everyCoreType

/** An event before the engine stamps `runId` and `t` on it. */
export type EventInput<E extends { runId: string; t: number } = CoreEvent> = E extends unknown
  ? Omit<E, 'runId' | 't'>
  : never
