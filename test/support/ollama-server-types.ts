/**
 * The public types of the Ollama test double (models, faults, options, recorded requests, the
 * server handle), in a file of their own so that the server's parts can share them without
 * importing each other. Re-exported by ollama-server.ts, which tests and benchmarks import.
 */

export interface TestModel {
  /** an Ollama tag; a name without a tag means `:latest` */
  name: string
  /** bytes on disk (and in memory once loaded); default derived from the name */
  size?: number
  /** false: listed in the registry only, so a pull can fetch it (default true) */
  present?: boolean
  /** the reply for a prompt, instead of `defaultReply` */
  reply?: (prompt: string) => string
  /** per-model token delay, overriding the server's `tokenDelayMs` */
  tokenDelayMs?: number
  family?: string
  parameterSize?: string
  quantization?: string
  contextLength?: number
  /** length of the vectors `/api/embed` returns (default 32) */
  embeddingLength?: number
}

/** A message of a `/api/chat` request, as the test double reads it. */
export interface ChatMessage {
  role?: string
  content?: string
  tool_calls?: Array<{ id?: string; function?: { index?: number; name?: string; arguments?: unknown } }>
  tool_name?: string
  [key: string]: unknown
}

/** A tool offered in a `/api/chat` request. */
export interface ChatTool {
  type?: string
  function?: { name?: string; description?: string; parameters?: unknown }
}

/** The parsed body of a `/api/chat` request, as given to the `toolCalls` option. */
export interface ChatRequestBody {
  model: string
  messages: ChatMessage[]
  tools?: ChatTool[]
  [key: string]: unknown
}

/** A tool call the test double replies with. */
export interface TestToolCall {
  name: string
  /**
   * an object, as Ollama sends; a string is sent as it is (NOT Ollama's shape: OpenAI-style
   * servers send JSON strings), so tests can check how a client copes with one
   */
  arguments: object | string
  /** sent as the call's `id` (newer Ollama servers give one); default none */
  id?: string
  /** sent as `function.index`; default none */
  index?: number
}

/** `only` limits a fault to these paths (e.g. ['/api/pull']); see `faultApplies` for defaults. */
export type Fault =
  | { kind: 'drop-mid-stream'; afterTokens: number; only?: string[] }
  | { kind: 'malformed-line'; afterTokens: number; only?: string[] }
  | { kind: 'slow-first-token'; delayMs: number; only?: string[] }
  | { kind: 'http-error'; status: number; message: string; only?: string[] }
  | { kind: 'hang'; only?: string[] }

export interface OllamaTestServerOptions {
  /** default 0: any free port */
  port?: number
  /** default 127.0.0.1 */
  host?: string
  /** default: llama3.2:1b and qwen2.5:7b, both present */
  models?: TestModel[]
  /** pause between tokens (0 = as fast as possible; default 0) */
  tokenDelayMs?: number
  /** pause before the first token, as if the model were loading (default 0) */
  firstTokenDelayMs?: number
  /** emit exactly this many tokens (cycling the reply), instead of the reply's natural length */
  tokens?: number
  /** pause between pull progress lines (default 0) */
  pullDelayMs?: number
  /** pause between `/api/create` status lines (default 0) */
  createDelayMs?: number
  /** progress lines per layer during a pull (default 3) */
  pullSteps?: number
  /** what `/api/version` answers (default 0.12.6) */
  version?: string
  /**
   * Decides the tool calls of a `/api/chat` reply (for tests that want full control): a non-empty
   * list → the reply is those calls; `[]` → a text reply; undefined → the default rule (`CALL`
   * directives, see ollama-server.ts). Called only when the request offers tools.
   */
  toolCalls?: ((request: ChatRequestBody) => TestToolCall[] | undefined) | undefined
  /** text streamed before the calls of a tool-call reply (default none: the reply is only calls) */
  toolCallText?: string | undefined
  fault?: Fault | null
}

export interface RecordedRequest {
  method: string
  path: string
  /** parsed JSON body (undefined when there was none; the raw text if it did not parse; undefined for blob uploads) */
  body: any
  /** bytes in the request body */
  bytes: number
  /** Date.now() when the request arrived */
  time: number
  /** token (or progress) lines written so far */
  tokensSent: number
  /** the response was completely written */
  finished: boolean
  /** the connection of this request closed (normally or not) */
  closed: boolean
  /** closed before the response was finished: the client went away (abort) */
  aborted: boolean
  closedAt?: number
}

/** One `POST /api/blobs/:digest`, as the server answered it. */
export interface BlobUpload {
  /** the digest in the URL */
  digest: string
  /** bytes received */
  bytes: number
  /** 201 stored, 200 already stored (body ignored), 400 digest mismatch or bad digest */
  status: number
}

/** One `POST /api/create`, as the server answered it. */
export interface CreateRecord {
  model: string
  from?: string
  /** file name → "sha256:<hex>" */
  adapters?: Record<string, string>
  stream: boolean
  /** 'success', or the error Ollama reported (as an HTTP error or an error line) */
  outcome: 'success' | { error: string; status: number }
}

export interface LoadedModel {
  name: string
  size: number
  expiresAt: Date
}

export interface OllamaTestServer {
  readonly url: string
  readonly port: number
  /** every request, in arrival order */
  readonly requests: RecordedRequest[]
  setFault(fault: Fault | null): void
  /** changes timing/model options at run time (models are not replaced) */
  setOptions(options: Omit<OllamaTestServerOptions, 'port' | 'host' | 'models'>): void
  addModel(model: TestModel): void
  /** every blob upload, in arrival order */
  readonly blobUploads: BlobUpload[]
  /** every create request, in arrival order (recorded when answered) */
  readonly creates: CreateRecord[]
  /** digests ("sha256:<hex>") of the blobs the server stores */
  blobs(): string[]
  /** stores a blob as if uploaded (not recorded in blobUploads); returns its digest */
  addBlob(content: Buffer | string): string
  /** names of the models on disk (what /api/tags lists) */
  present(): string[]
  /** what /api/ps would list now */
  loaded(): LoadedModel[]
  /** connections open right now */
  connections(): number
  /** responses still being written (streams in flight, hung requests) */
  inFlight(): number
  /** stops the server and destroys open sockets, so nothing keeps the process alive */
  close(): Promise<void>
}
