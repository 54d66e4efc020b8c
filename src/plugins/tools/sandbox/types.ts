/**
 * The sandbox's contract: what a tool call sends into it and what comes back. Only plain data
 * crosses, in both directions; host functions a tool may call ("capabilities") are plain async
 * functions on the host side, called with JSON arguments and answering JSON.
 */

export interface SandboxLimits {
  /** wall-clock limit for the whole call, ms (the worker is SIGKILLed past it) */
  timeoutMs: number
  /** heap limit of the isolate, MB */
  memoryMb: number
  /** most bytes of JSON the tool may return */
  maxOutputBytes: number
}

export interface SandboxCall {
  /** the tool's ES module source (default export: a function, sync or async) */
  source: string
  /** where the source came from, for messages only */
  filename: string
  /** the validated arguments (plain JSON) */
  args: unknown
  limits: SandboxLimits
  /** names of the capabilities granted (keys of `host`) */
  capabilities: string[]
}

export type SandboxErrorCode = 'TOOL_TIMEOUT' | 'TOOL_MEMORY' | 'TOOL_OUTPUT' | 'TOOL_FAILED' | 'TOOL_CRASH'

export type SandboxResult =
  | { ok: true; value: unknown; ms: number }
  | { ok: false; code: SandboxErrorCode; error: string; ms: number }

/** Host functions a tool may be granted, by name ("memory.search"): JSON in, JSON out. */
export type Capabilities = Record<string, (args: unknown) => Promise<unknown>>

export interface SandboxPool {
  /** Runs one call in a fresh isolate in a pooled worker process. Never throws. */
  run(call: SandboxCall, host?: Capabilities): Promise<SandboxResult>
  /** Stops the workers. */
  close(): Promise<void>
}
