/**
 * The messages between the pool (parent) and a sandbox worker process, over Node's IPC channel
 * (JSON serialisation). The parent treats everything a worker sends as untrusted: a worker runs
 * hostile code, so a message of the wrong shape ends the worker (TOOL_CRASH).
 */
import type { SandboxErrorCode } from './types.js'

/** parent → worker, once: the program to run and what it needs */
export interface BootMessage {
  t: 'boot'
  /** the worker's program: a function body evaluated with `require` and `boot` in scope */
  program: string
  /** absolute path of isolated-vm's main file */
  ivmPath: string
  /** `isolateMain`'s source (with its coverage shim, if any): the trusted in-isolate code */
  isolateSource: string
}

/** parent → worker: one tool call */
export interface RunMessage {
  t: 'run'
  id: number
  source: string
  filename: string
  /** JSON text of the arguments */
  args: string
  timeoutMs: number
  memoryMb: number
  maxOutputBytes: number
  capabilities: string[]
  maxCallArgBytes: number
  maxCalls: number
  maxInFlight: number
}

/** parent → worker: the answer to a capability call */
export interface CapResultMessage {
  t: 'capResult'
  id: number
  callId: number
  ok: boolean
  /** JSON text when ok, else a message */
  payload: string
}

export type ToWorker = BootMessage | RunMessage | CapResultMessage

/** worker → parent: started (isolated-vm loaded) */
export interface ReadyMessage {
  t: 'ready'
}

/** worker → parent: a tool calls a capability */
export interface CapMessage {
  t: 'cap'
  id: number
  callId: number
  name: string
  /** JSON text */
  args: string
}

/** worker → parent: the outcome of a call; `recycle` asks the parent to replace the worker */
export type ResultMessage = { t: 'result'; id: number; recycle: boolean } & (
  | { ok: true; json: string }
  | { ok: false; code: SandboxErrorCode; error: string }
)

export type FromWorker = ReadyMessage | CapMessage | ResultMessage
