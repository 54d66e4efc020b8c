/**
 * The messages between Mirador and a plugin host (IPC, Node's `advanced` serialisation: structured
 * clone, so Maps and typed arrays cross but functions never do). Everything here is data.
 */
import type { HookName } from '../engine/hooks.js'

/** What the host needs to load the plugin: no path outside what its permissions allow. */
export interface HostInit {
  t: 'init'
  name: string
  entryFile: string
  options: unknown
  hooks: HookName[]
  capabilities: string[]
  provides: string[]
  templateVars: string[]
  stageKeys: Record<string, object>
  /** the module `@mirador/plugin-api` resolves to (Mirador's own copy) */
  apiUrl: string
  /** what `engine.settings` shows the plugin (env holds only its declared variables) */
  settings: Record<string, unknown>
}

/** A proxied tap: the hook's arguments as data, the context (when the hook has one) apart. */
export interface HostCall {
  t: 'call'
  id: number
  hook: HookName
  args: unknown[]
  ctx?: ContextData
}

/** A capability the plugin provides, called by another plugin. */
export interface HostCapabilityCall {
  t: 'capability'
  id: number
  name: string
  args: unknown
}

export interface HostAbort {
  t: 'abort'
  id: number
}

/** The parent's answer to a host's request (a capability it calls, a fetch, the chains). */
export interface HostReply {
  t: 'reply'
  id: number
  ok: boolean
  value?: unknown
  error?: ErrorData
}

/** What a plugin's command function gets as its first argument: argv parsed against its manifest. */
export interface CommandInput {
  args: Record<string, string | undefined>
  flags: Record<string, unknown>
  /** the words after the command's name, as typed */
  argv: string[]
}

/**
 * One of the plugin's commands (`mirador NAME`, host-command.ts): the function `commands[run]` of its
 * module. What it writes comes back as `emit` messages of this call (event type `output`).
 */
export interface HostCommandCall {
  t: 'command'
  id: number
  entryFile: string
  run: string
  input: CommandInput
  /** its config entry's options, and the folder Mirador was started in (as data: the host cannot read it) */
  options: unknown
  cwd: string
}

export type ToHost = HostInit | HostCall | HostCapabilityCall | HostAbort | HostReply | HostCommandCall

export interface ErrorData {
  code?: string
  message: string
  /** a MiradorError's details (which plugin, which hook or capability) */
  details?: Record<string, string>
}

export interface ReadyMessage {
  t: 'ready'
  /** the declared hooks the plugin really tapped (the others need no round trip) */
  tapped: HookName[]
  error?: ErrorData
}

/** What a tap answered, and what it changed in the arguments it may change (summary, removed). */
export interface ResultMessage {
  t: 'result'
  id: number
  ok: boolean
  value?: unknown
  error?: ErrorData
  /** stageDone: fields added to the context's summary; forget: the request's removed and runIds */
  changes?: Record<string, unknown>
  /** read-only fields of the arguments the tap changed (reported by the behaviour test) */
  tampered?: string[]
}

export interface EmitMessage {
  t: 'emit'
  /** the call whose context emitted it, or 0 after that call returned */
  call: number
  runId: string
  event: Record<string, unknown>
}

export interface HostRequest {
  t: 'request'
  id: number
  kind: 'capability' | 'fetch' | 'chains'
  name?: string
  args?: unknown
}

/** An attempt the sandbox refused: a file, a program, a connection, a Node internal. */
export interface AccessMessage {
  t: 'access'
  kind: 'fs' | 'child_process' | 'network' | 'internal' | 'worker' | 'capability' | 'hook'
  detail: string
}

export type FromHost = ReadyMessage | ResultMessage | EmitMessage | HostRequest | AccessMessage

/** A RunContext or StageContext as data: the host rebuilds emit, log and signal around it. */
export interface ContextData {
  runId: string
  chain: string
  query: string
  session?: string
  memory: boolean
  stage?: string
  spec?: unknown
  summary?: Record<string, unknown>
  results?: Map<string, unknown>
}

/** The proxied fetch's request and answer. */
export interface FetchRequest {
  url: string
  method: string
  headers: [string, string][]
  body?: Uint8Array
}

export interface FetchAnswer {
  status: number
  statusText: string
  headers: [string, string][]
  body: Uint8Array
}
