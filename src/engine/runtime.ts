/**
 * The Runtime interface that model back ends implement (src/runtimes/*), in the spirit of the
 * Vercel AI SDK: a runtime is made by a `createX(settings)` factory, and generation is a stream of
 * parts, a discriminated union with errors in-band, so a consumer never needs try/catch around
 * iteration to learn that a stream failed.
 */
import type { StageOptions } from './config/index.js'
import type { MiradorError } from './errors.js'

/** A stage's `options:` from the chain file, exactly as its schema defines them. */
export type GenerationOptions = StageOptions

export interface GenerateRequest {
  /** the model as the runtime knows it (an Ollama tag, a GGUF path, …) */
  model: string
  prompt: string
  system?: string
  options: GenerationOptions
  /** ask for log-probabilities so tokens can carry a confidence */
  logprobs?: boolean
  keepAlive?: string | number
  signal?: AbortSignal
}

export type StreamPart =
  | { type: 'text-delta'; text: string; /** natural log of the token's probability */ logprob?: number }
  | { type: 'progress'; status: string; completed?: number; total?: number }
  | { type: 'finish'; reason: 'stop' | 'length' | 'abort'; usage: { promptTokens?: number; completionTokens: number } }
  | { type: 'error'; error: MiradorError }

export interface RuntimeStatus {
  runtime: string
  ok: boolean
  /** where it was looked for (host URL, library path) */
  where: string
  detail: string
  /** models the runtime has, when it can list them */
  models?: string[]
}

export interface Runtime {
  readonly name: string
  /** Streams a generation. Never throws: failures arrive as an `error` part. */
  generate(request: GenerateRequest): AsyncIterable<StreamPart>
  /** Is the runtime usable, and what does it have? Used by `mirador doctor`. */
  status(): Promise<RuntimeStatus>
  /** Frees whatever the runtime holds (models, connections). */
  dispose?(): Promise<void>
}
