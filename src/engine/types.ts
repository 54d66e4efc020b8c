/**
 * The values that flow through the hooks. Chain and stage shapes come from the JSON Schemas
 * (config/types.gen.ts); these are the run-time shapes built from them.
 */
import type { ChainFile, Stage } from './config/types.gen.js'
import type { EventInput, CoreEvent, PluginEvent } from './events.js'
import type { GenerateRequest, StreamPart, ToolCallRequest, ToolDefinition } from './runtime.js'
import type { MiradorError } from './errors.js'

export type { Stage }

/** What a run will do. The `plan` waterfall may swap models, drop stages or limit concurrency. */
export interface RunPlan {
  runId: string
  chain: string
  /** the chain file, when the chain came from one */
  file?: string
  query: string
  /** the conversation the run continues (`--session NAME`) */
  session?: string
  /** stages by name, in declaration order; a plugin that drops a stage deletes its key */
  stages: Record<string, Stage>
  /** preference order for the final answer */
  answer: string[]
  /** most stages running at once (1 = one after another) */
  concurrency: number
  /** template variables shared by every stage (`{{query}}`, plugin-added ones) */
  vars: Record<string, unknown>
  /** false: this run neither recalls nor remembers (an energy profile, or the user) */
  memory: boolean
  /** how long runtimes keep models loaded after this run's requests (caps the manifest's keep_alive) */
  keepAlive?: string | number
  /** fields plugins add to the run's `done` event (an energy estimate, …) */
  summary: Record<string, unknown>
  /** the chain's acknowledgment text, if it declares one */
  ack?: string
  /** the query's type, when a router decided it (`chain: auto`) */
  queryType?: string
}

/** A prompt before its template is filled: `prompt` taps add variables or rewrite the template. */
export interface Prompt {
  template: string
  system?: string
  vars: Record<string, unknown>
}

/** How a plugin speaks to the user: a `log` event the renderers place where it does not break the display. */
export interface LogOptions {
  /** `warn` goes to standard error in plain output (default `info`) */
  level?: 'info' | 'warn'
  /** the plugin speaking (shown beside the message) */
  plugin?: string
}

/** What every hook of a run hands its taps besides the value: which run, and how to speak in it. */
export interface RunContext {
  readonly runId: string
  readonly chain: string
  readonly query: string
  readonly session?: string
  /** false: memory is off for this run */
  readonly memory: boolean
  /** aborts when the run is cancelled */
  readonly signal: AbortSignal
  /** emits an event into the run (stamped with runId and t); nothing is emitted after `done` */
  emit(event: EventInput<CoreEvent> | Omit<PluginEvent, 'runId' | 't'>): void
  /** prints a line for the user through the renderers (a `log` event), never straight to a stream */
  log(message: string, options?: LogOptions): void
}

export interface StageContext extends RunContext {
  readonly stage: string
  readonly spec: Stage
  /** fields for the `done` event: a stageDone tap may add to it */
  readonly summary: Record<string, unknown>
  /** aborts when the run is cancelled or the stage is skipped */
  readonly signal: AbortSignal
  /** results of the stages that finished so far */
  readonly results: ReadonlyMap<string, StageResult>
}

/** `chain: auto`: the `route` hook's question. Taps before the answering one may add to it. */
export interface RouteRequest {
  query: string
  /** an estimate of the joules a chain would use, for routers that weigh quality per joule */
  cost?: (chain: ChainFile) => Promise<number>
}

/**
 * The `priors` hook's value: outside evidence for a router's beliefs about the candidates of one
 * query type (a community prior). Taps fill `priors` and return the value.
 */
export interface RoutePriors {
  queryType: string
  /** the chains the router chooses among, each with the user's own ratings of it for this type */
  candidates: { chain: string; ratings: number }[]
  /**
   * chain → pseudo-ratings added to its Beta (α good, β bad), the outside share of good ratings,
   * and where it came from (for `--explain`)
   */
  priors: Record<string, RoutePrior>
  /** problems a tap met (a damaged file): the caller shows them to the user; the prior is left out */
  warnings?: string[]
}

export interface RoutePrior {
  alpha: number
  beta: number
  /** the outside rate of good ratings (0–1) */
  share: number
  /** who says so, e.g. `round 0003 of garden-club` */
  source: string
}

/** The `route` hook's answer: the chain to run, already loaded, and the query's type. */
export interface RouteAnswer {
  chain: ChainDef
  /** the query type the router decided (recorded with the run) */
  queryType?: string
}

/** A chain ready to run: its name, the file it came from, and its validated content. */
export interface ChainDef {
  name: string
  file?: string
  value: ChainFile
}

export interface ModelRef {
  /** the name the stage uses: a manifest entry or a runtime's own tag */
  name: string
  stage: string
}

/** What the `model` hook answers with: a model ready to generate. */
export interface LoadedModel {
  /** display name (manifest entry or tag) */
  name: string
  runtime: string
  generate(request: Omit<GenerateRequest, 'model'>): AsyncIterable<StreamPart>
  /** called when the stage is done with the model */
  release?(): void
}

export type ToolSpec = ToolDefinition
export type ToolCall = ToolCallRequest
/** What the `tools` hook offers a stage: the tools, and how many rounds of calls it may make. */
export interface ToolOffer {
  tools: ToolSpec[]
  maxRounds: number
}
export type ToolResult =
  | { ok: true; value: unknown; ms: number }
  | { ok: false; error: string; code: string; ms: number }

export type StageStatus = 'ok' | 'error' | 'skipped'

export interface StageResult {
  stage: string
  status: StageStatus
  model?: string
  output: string
  tokens: number
  promptTokens?: number
  confidence: number
  confidenceSource: 'logprobs' | 'declared'
  ms: number
  error?: MiradorError
  reason?: string
  /** the parsed answer, when the stage has a `format` */
  value?: unknown
}

export interface RunResult {
  runId: string
  chain: string
  /** the chain file, when the chain came from one */
  file?: string
  /** the query's type, when a router decided it */
  queryType?: string
  query: string
  session?: string
  /** false: memory was off for this run */
  memory: boolean
  answer: string
  answerStage: string | null
  confidence: number
  stages: StageResult[]
  models: string[]
  tokens: number
  ms: number
  ok: boolean
}

/** What to forget: some runs' memories by id, a session, everything before a time, or all. */
export interface ForgetRequest {
  ids?: string[]
  /** the runs the forgotten things came from (taps that find them add them, for the taps after) */
  runIds?: string[]
  session?: string
  /** ms since the epoch: what was made before it */
  before?: number
  all?: boolean
  /** what each plugin removed, by kind (taps add to it: `memories`, `session turns`, …) */
  removed: Record<string, number>
}

export interface Rating {
  runId: string
  rating: number
  comment?: string
}
