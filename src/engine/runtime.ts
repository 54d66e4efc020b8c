/**
 * The Runtime interface that model back ends implement (src/runtimes/*), in the spirit of the
 * Vercel AI SDK: a runtime is made by a `createX(settings)` factory, and generation is a stream of
 * parts, a discriminated union with errors in-band, so a consumer never needs try/catch around
 * iteration to learn that a stream failed.
 */
import type { StageOptions } from './config/types.gen.js'
import type { MiradorError } from './errors.js'

/** A stage's `options:` from the chain file, exactly as its schema defines them. */
export type GenerationOptions = StageOptions

/** A LoRA adapter applied on top of a base model. */
export interface AdapterSpec {
  /** absolute path of the adapter file (GGUF for llama.cpp; GGUF or safetensors for Ollama) */
  file: string
  /** how strongly it applies (default 1; 0 leaves the base unchanged) */
  scale?: number
}

/** A model a runtime is asked to make ready: a base, perhaps with adapters. */
export interface ModelSpec {
  /** the manifest entry's name (Ollama names a derived model after it) */
  name: string
  /** an Ollama tag, or the absolute path of a GGUF file */
  base: string
  adapters?: AdapterSpec[]
  keepAlive?: string | number
}

/** What `prepare` made ready: how to ask for it in a GenerateRequest. */
export interface PreparedModel {
  /** the value for GenerateRequest.model */
  model: string
  /** adapters to pass with every request (llama.cpp attaches them per context) */
  adapters?: AdapterSpec[]
  /** memory the model takes, in bytes, when the runtime knows */
  sizeBytes?: number
}

export interface LoadedModelInfo {
  /** as in GenerateRequest.model */
  model: string
  sizeBytes: number
  expiresAt?: Date
}

/**
 * Progress of making a model ready (a pull, an upload, a load): one shape from the runtime to the
 * renderer. `prepare` reports it to `onProgress`, a stream carries it as a `progress` part, and the
 * run's `model-pull` event is the same fields with the model's name.
 */
export interface Progress {
  status: string
  /** bytes (or steps) done so far, when the runtime counts them */
  completed?: number
  total?: number
}

/** A tool the model may call, as the model sees it. */
export interface ToolDefinition {
  name: string
  description: string
  /** JSON Schema of the arguments (an object schema) */
  parameters: Record<string, unknown>
}

export interface ToolCallRequest {
  /** the runtime's id for the call, or one the engine makes */
  id: string
  name: string
  arguments: Record<string, unknown>
}

/** Earlier rounds of a stage's tool conversation: what the model asked, what the tools said. */
export type ToolTurn =
  | { role: 'assistant'; content: string; toolCalls: ToolCallRequest[] }
  | { role: 'tool'; name: string; callId: string; content: string }

export interface GenerateRequest {
  /** the model as the runtime knows it (an Ollama tag, a GGUF path, …) */
  model: string
  /** tools the model may call this round */
  tools?: ToolDefinition[]
  /** the rounds so far, after the prompt: the model's tool calls and the tools' answers */
  turns?: ToolTurn[]
  /** adapters to attach for this request (runtimes that attach them per request) */
  adapters?: AdapterSpec[]
  prompt: string
  system?: string
  options: GenerationOptions
  /**
   * Structured output (the stage's `format:`): 'json' for any JSON, or a JSON Schema the answer must
   * match. Runtimes constrain generation to it where they can; the engine checks the answer anyway.
   */
  format?: 'json' | Record<string, unknown>
  /** ask for log-probabilities so tokens can carry a confidence */
  logprobs?: boolean
  keepAlive?: string | number
  signal?: AbortSignal
}

export type StreamPart =
  | { type: 'text-delta'; text: string; /** natural log of the token's probability */ logprob?: number }
  | ({ type: 'progress' } & Progress)
  | { type: 'tool-call'; call: ToolCallRequest }
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
  /** bytes on disk of each listed model, when the runtime knows */
  sizes?: Record<string, number>
}

export interface Runtime {
  readonly name: string
  /** Streams a generation. Never throws: failures arrive as an `error` part. */
  generate(request: GenerateRequest): AsyncIterable<StreamPart>
  /** Is the runtime usable, and what does it have? Used by `mirador doctor`. */
  status(): Promise<RuntimeStatus>
  /** Frees whatever the runtime holds (models, connections). */
  dispose?(): Promise<void>
  /**
   * Makes a model ready before its first request: pull it if absent, create a model with its
   * adapters, load it into memory. Throws MiradorError (MODEL_MISSING, RUNTIME_UNREACHABLE, …).
   */
  prepare?(
    spec: ModelSpec,
    options?: { signal?: AbortSignal; onProgress?: (p: Progress) => void },
  ): Promise<PreparedModel>
  /** The `PreparedModel.model` that `prepare` would give, without making anything ready. */
  preparedName?(spec: ModelSpec): Promise<string>
  /** Frees the memory a model takes (its `PreparedModel.model`). Throws MiradorError. */
  unload?(model: string): Promise<void>
  /** The models in memory now. Throws MiradorError. */
  listLoaded?(): Promise<LoadedModelInfo[]>
  /** Embeds texts with an embedding model, one vector per text. Throws MiradorError. */
  embed?(model: string, texts: string[], options?: { signal?: AbortSignal }): Promise<number[][]>
}
