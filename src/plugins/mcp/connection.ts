/**
 * One MCP server the user configured: started on first use as a child process speaking MCP over
 * its standard input and output (the SDK's Client and StdioClientTransport, imported only then),
 * its tool list read, calls made with a deadline and an output bound, and stopped on close. A
 * server that fails to start or exits is one line naming it and its command, with the last line it
 * wrote to stderr; the next use starts it again.
 */
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import type { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { MiradorError } from '../../engine/errors.js'
import type { ToolResult } from '../../engine/types.js'
import type { McpServerSettings } from './options.gen.js'
import { callResult, failureOf } from './results.js'

/** A tool as the server lists it. */
export interface McpTool {
  name: string
  description: string
  inputSchema: Record<string, unknown>
}

export interface CallLimits {
  timeoutMs: number
  maxOutputBytes: number
  signal?: AbortSignal
}

/** The last lines of the server's stderr kept for an error message: a chatty server must not grow it. */
const STDERR_KEEP = 2048

/** the SDK's ErrorCode.ConnectionClosed (the SDK itself loads only with a server) */
const CONNECTION_CLOSED = -32000

export class McpConnection {
  readonly name: string
  readonly settings: McpServerSettings
  readonly #startTimeoutMs: number
  readonly #beforeStart?: ((server: string) => Promise<void>) | undefined
  #client?: Promise<{ client: Client; transport: StdioClientTransport }>
  #stderr = ''
  #exited?: string
  #pid: number | null = null
  readonly #killOnExit = (): void => {
    // the parent is leaving without closing: a server must not outlive Mirador
    if (this.#pid !== null) {
      try {
        process.kill(this.#pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }

  constructor(
    name: string,
    settings: McpServerSettings,
    startTimeoutMs: number,
    beforeStart?: (server: string) => Promise<void>,
  ) {
    this.name = name
    this.settings = settings
    this.#startTimeoutMs = startTimeoutMs
    this.#beforeStart = beforeStart
  }

  /** `node echo-server.mjs`: how the user wrote it, for messages */
  get commandLine(): string {
    return [this.settings.command, ...(this.settings.args ?? [])]
      .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)))
      .join(' ')
  }

  /** the server's process id while it runs */
  get pid(): number | null {
    return this.#pid
  }

  /** A MiradorError naming the server, its command and what it said last. */
  failure(what: string, cause?: unknown): MiradorError {
    const said = this.#stderr.trim().split('\n').pop()?.trim()
    const errno = (cause as { code?: unknown } | undefined)?.code
    // "Connection closed" says less than how it ended
    const why =
      errno === 'ENOENT'
        ? `${this.settings.command} was not found (is it installed, and on PATH?)`
        : errno === CONNECTION_CLOSED || cause === undefined
          ? (this.#exited ?? 'it exited')
          : cause instanceof Error
            ? cause.message
            : String(cause)
    return new MiradorError(
      'TOOL_CRASH',
      `MCP server "${this.name}" (${this.commandLine}) ${what}${why ? `: ${why}` : ''}` +
        `${said ? ` (its last words: ${said.slice(0, 300)})` : ''}. ` +
        'Check its command in mcp.servers of mirador.config.yaml.',
      { details: { server: this.name }, ...(cause !== undefined ? { cause } : {}) },
    )
  }

  #connect(): Promise<{ client: Client; transport: StdioClientTransport }> {
    this.#client ??= this.#start().catch((err: unknown) => {
      this.#client = undefined
      throw MiradorError.is(err) ? err : this.failure('did not start', err)
    })
    return this.#client
  }

  async #start(): Promise<{ client: Client; transport: StdioClientTransport }> {
    await this.#beforeStart?.(this.name)
    const [{ Client }, { StdioClientTransport }] = await Promise.all([
      import('@modelcontextprotocol/sdk/client/index.js'),
      import('@modelcontextprotocol/sdk/client/stdio.js'),
    ])
    this.#stderr = ''
    this.#exited = undefined
    const transport = new StdioClientTransport({
      command: this.settings.command,
      ...(this.settings.args ? { args: this.settings.args } : {}),
      ...(this.settings.env ? { env: this.settings.env } : {}),
      ...(this.settings.cwd ? { cwd: this.settings.cwd } : {}),
      // never on the user's terminal (it would tear the live renderer): kept for error messages
      stderr: 'pipe',
    })
    transport.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-STDERR_KEEP)
    })
    const client = new Client({ name: 'mirador', version: '1' }, { capabilities: {} })
    client.onclose = () => {
      // gone (exited, killed, or closed by us): the next use starts it again
      this.#exited ??= 'it exited'
      this.#client = undefined
      this.#forget()
    }
    client.onerror = () => {
      // transport errors also close the connection; the pending request reports them
    }
    try {
      await client.connect(transport, { timeout: this.#startTimeoutMs })
    } catch (err) {
      await transport.close().catch(() => {})
      this.#forget()
      throw this.failure('did not start', err)
    }
    this.#pid = transport.pid
    process.once('exit', this.#killOnExit)
    return { client, transport }
  }

  #forget(): void {
    this.#pid = null
    process.off('exit', this.#killOnExit)
  }

  /** Its tools (every page), starting it if needed. */
  async listTools(): Promise<McpTool[]> {
    const { client } = await this.#connect()
    const tools: McpTool[] = []
    let cursor: string | undefined
    try {
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, { timeout: this.#startTimeoutMs })
        for (const t of page.tools)
          tools.push({
            name: t.name,
            description: t.description ?? t.title ?? '',
            inputSchema: t.inputSchema as Record<string, unknown>,
          })
        cursor = page.nextCursor
      } while (cursor && tools.length < 1000)
    } catch (err) {
      throw this.failure('did not list its tools', err)
    }
    return tools
  }

  /** Calls one of its tools. Never throws: failures are results with a tool error code. */
  async call(tool: string, args: Record<string, unknown>, limits: CallLimits): Promise<ToolResult> {
    const t0 = performance.now()
    const ms = () => Math.round(performance.now() - t0)
    try {
      const { client } = await this.#connect()
      const r = await client.callTool({ name: tool, arguments: args }, undefined, {
        timeout: limits.timeoutMs,
        ...(limits.signal ? { signal: limits.signal } : {}),
      })
      return callResult(r, limits.maxOutputBytes, ms())
    } catch (err) {
      return failureOf(err, this, limits.timeoutMs, ms())
    }
  }

  /** Stops the server (stdin closed, then SIGTERM, then SIGKILL: the SDK's order). */
  async close(): Promise<void> {
    const c = this.#client
    this.#client = undefined
    if (!c) return
    try {
      const { client } = await c
      this.#exited = 'it was stopped'
      await client.close()
    } catch {
      // it never started: nothing to stop
    }
    this.#forget()
  }
}
