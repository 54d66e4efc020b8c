/**
 * Tools from Model Context Protocol servers the user declared in config (`mcp: { servers: { NAME:
 * { command, args, env } } }`). A stage lists them as `NAME-TOOL` beside its sandboxed tools; the
 * plugin offers them on the `tools` hook (before the tools plugin, which leaves names with a `-`
 * alone) and answers their calls on `toolCall`, with the same events, limits and error codes as
 * sandboxed tools. A server is a separate process the user chose, running with the user's
 * privileges: Mirador does not sandbox it. It starts on the first run that needs its tool list
 * (kept for the process), and stops when no run that used it is still going.
 */
import { didYouMeanText } from '../../engine/config/index.js'
import type { PluginHost } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import { builtinOptionsSchema, validatePluginOptions } from '../../engine/plugin-options.js'
import type { StageContext, ToolCall, ToolOffer, ToolResult, ToolSpec } from '../../engine/types.js'
import { McpConnection } from './connection.js'
import { qualifiedName, splitName } from './names.js'
import type { McpOptions, McpServerSettings } from './options.gen.js'

const PLUGIN_NAME = 'McpPlugin'

export type { McpOptions as McpPluginOptions } from './options.gen.js'

/** How `tools ls` and the docs name where an MCP tool runs. */
export const MCP_ORIGIN_NOTE = 'separate process you configured'

/** An MCP server's tool as stages see it. */
export interface McpToolInfo extends ToolSpec {
  /** `SERVER-TOOL`, the name stages and models use */
  name: string
  server: string
  /** the name the server gave it */
  tool: string
}

type StageTools = { tools?: string[] }
type Options = Required<McpOptions> & { servers: Record<string, McpServerSettings> }

export class McpPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly options: Options
  readonly #servers = new Map<string, McpConnection>()
  readonly #lists = new Map<string, Promise<McpToolInfo[]>>()
  /** the servers each run in progress has used: one stops when no run holds it */
  readonly #held = new Map<string, Set<string>>()

  /**
   * `beforeStart`: asked before a server's process starts; it throws to refuse (the CLI's check
   * that a server a project's config declares was approved)
   */
  constructor(options: McpOptions = {}, { beforeStart }: { beforeStart?: (server: string) => Promise<void> } = {}) {
    this.options = validatePluginOptions<Options>(PLUGIN_NAME, builtinOptionsSchema('mcp'), options)
    for (const [name, settings] of Object.entries(this.options.servers))
      this.#servers.set(name, new McpConnection(name, settings, this.options.start_timeout_ms, beforeStart))
  }

  apply(engine: PluginHost): void {
    if (this.#servers.size === 0) return
    // first, so that the tools plugin sees these names offered and does not report them unknown
    engine.hooks.tools.tapPromise({ name: PLUGIN_NAME, stage: -10 }, (offer, ctx) => this.#offer(offer, ctx))
    engine.hooks.toolCall.tapPromise(PLUGIN_NAME, (call, ctx) => this.#call(call, ctx))
    engine.hooks.runDone.tapPromise(PLUGIN_NAME, (_result, ctx) => this.#release(ctx.runId))
  }

  serverNames(): string[] {
    return [...this.#servers.keys()]
  }

  server(name: string): McpConnection | undefined {
    return this.#servers.get(name)
  }

  /** A server's tools: starts it on the first call; the list is kept for the rest of the process. */
  tools(server: string): Promise<McpToolInfo[]> {
    const conn = this.#servers.get(server)
    if (!conn) return Promise.reject(new MiradorError('TOOL_NOT_FOUND', `no MCP server named "${server}"`))
    let list = this.#lists.get(server)
    if (!list) {
      list = conn.listTools().then((tools) =>
        tools.map((t) => ({
          name: qualifiedName(server, t.name),
          server,
          tool: t.name,
          description: t.description,
          parameters: t.inputSchema,
        })),
      )
      // a server that failed is tried again next time
      list.catch(() => this.#lists.delete(server))
      this.#lists.set(server, list)
    }
    return list
  }

  /** Calls `SERVER-TOOL` with its server's limits. Never throws. */
  async call(name: string, args: Record<string, unknown>, signal?: AbortSignal): Promise<ToolResult> {
    const t0 = performance.now()
    const failed = (code: string, error: string): ToolResult => ({
      ok: false,
      code,
      error,
      ms: Math.round(performance.now() - t0),
    })
    const parts = splitName(name)
    const conn = parts && this.#servers.get(parts.server)
    if (!parts || !conn) return failed('TOOL_NOT_FOUND', `no MCP server provides "${name}"`)
    let tools: McpToolInfo[]
    try {
      tools = await this.tools(parts.server)
    } catch (err) {
      const e = MiradorError.from(err, 'TOOL_CRASH')
      return failed(e.code, e.message)
    }
    const tool = tools.find((t) => t.name === name)
    if (!tool) return failed('TOOL_NOT_FOUND', `MCP server "${parts.server}" has no tool "${parts.tool}"`)
    return conn.call(tool.tool, args, {
      timeoutMs: conn.settings.timeout_ms ?? this.options.timeout_ms,
      maxOutputBytes: conn.settings.max_output_bytes ?? this.options.max_output_bytes,
      ...(signal ? { signal } : {}),
    })
  }

  /** Stops every server. */
  async close(): Promise<void> {
    this.#held.clear()
    await Promise.all([...this.#servers.values()].map((c) => c.close()))
  }

  #hold(runId: string, server: string): void {
    let servers = this.#held.get(runId)
    if (!servers) this.#held.set(runId, (servers = new Set()))
    servers.add(server)
  }

  async #release(runId: string): Promise<void> {
    const used = this.#held.get(runId)
    if (!used) return
    this.#held.delete(runId)
    const stillHeld = new Set([...this.#held.values()].flatMap((s) => [...s]))
    await Promise.all([...used].filter((s) => !stillHeld.has(s)).map((s) => this.#servers.get(s)?.close()))
  }

  async #offer(offer: ToolOffer, ctx: StageContext): Promise<ToolOffer> {
    const defs: ToolSpec[] = []
    const failedServers = new Set<string>()
    for (const name of (ctx.spec as StageTools).tools ?? []) {
      const parts = splitName(name)
      if (!parts || failedServers.has(parts.server)) continue
      const error = (code: string, message: string) => ctx.emit({ type: 'error', stage: ctx.stage, code, message })
      if (!this.#servers.has(parts.server)) {
        error(
          'TOOL_NOT_FOUND',
          `no MCP server named "${parts.server}" for tool "${name}" (mcp.servers in mirador.config.yaml has ` +
            `${this.serverNames().join(', ')}); the stage runs without it.` +
            didYouMeanText(parts.server, this.serverNames()),
        )
        continue
      }
      this.#hold(ctx.runId, parts.server)
      let tools: McpToolInfo[]
      try {
        tools = await this.tools(parts.server)
      } catch (err) {
        failedServers.add(parts.server)
        const e = MiradorError.from(err, 'TOOL_CRASH')
        error(e.code, `${e.message} The stage runs without its tools.`)
        continue
      }
      const tool = tools.find((t) => t.name === name)
      if (tool) defs.push({ name: tool.name, description: tool.description, parameters: tool.parameters })
      else
        error(
          'TOOL_NOT_FOUND',
          `MCP server "${parts.server}" has no tool "${parts.tool}"; the stage runs without it.` +
            didYouMeanText(
              name,
              tools.map((t) => t.name),
            ),
        )
    }
    return defs.length === 0 ? offer : { ...offer, tools: [...offer.tools, ...defs] }
  }

  async #call(call: ToolCall, ctx: StageContext): Promise<ToolResult | undefined> {
    // a stage may call only the tools it lists; other names are left to other plugins
    const parts = splitName(call.name)
    if (!parts || !this.#servers.has(parts.server)) return undefined
    if (!((ctx.spec as StageTools).tools ?? []).includes(call.name)) return undefined
    this.#hold(ctx.runId, parts.server)
    return this.call(call.name, call.arguments, ctx.signal)
  }
}
