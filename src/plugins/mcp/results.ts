/**
 * An MCP tool's answer as a Mirador tool result, with the codes sandboxed tools use: the value the
 * model gets (the structured content, else the text, else the content parts), bounded in size
 * (TOOL_OUTPUT), an `isError` answer as TOOL_FAILED (TOOL_INVALID when the server says the
 * arguments were wrong), a missed deadline as TOOL_TIMEOUT and a server gone as TOOL_CRASH.
 */
import { MiradorError } from '../../engine/errors.js'
import type { ToolResult } from '../../engine/types.js'

/** JSON-RPC codes of MCP errors (the SDK's ErrorCode, not imported: the SDK loads only with a server) */
const INVALID_PARAMS = -32602
const REQUEST_TIMEOUT = -32001
const CONNECTION_CLOSED = -32000

interface CallToolAnswer {
  content?: unknown
  structuredContent?: unknown
  isError?: unknown
}

type ContentPart = { type?: unknown; text?: unknown }

function textOf(content: unknown): string | undefined {
  if (!Array.isArray(content) || content.length === 0) return undefined
  const parts = content as ContentPart[]
  if (!parts.every((p) => p?.type === 'text' && typeof p.text === 'string')) return undefined
  return parts.map((p) => p.text as string).join('\n')
}

/** Longest error text passed on to the model and the events. */
const MAX_ERROR_CHARS = 2000

export function callResult(answer: object, maxOutputBytes: number, ms: number): ToolResult {
  const r = answer as CallToolAnswer
  if (r.isError === true) {
    const text = textOf(r.content) ?? JSON.stringify(r.content ?? null)
    const invalid = /Input validation error|Invalid arguments|-32602/i.test(text)
    return { ok: false, code: invalid ? 'TOOL_INVALID' : 'TOOL_FAILED', error: text.slice(0, MAX_ERROR_CHARS), ms }
  }
  const value = r.structuredContent ?? textOf(r.content) ?? r.content ?? null
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? 'null')
  if (bytes > maxOutputBytes)
    return {
      ok: false,
      code: 'TOOL_OUTPUT',
      error: `the result is ${bytes} bytes, over the ${maxOutputBytes} an MCP tool may return (max_output_bytes)`,
      ms,
    }
  return { ok: true, value, ms }
}

export function failureOf(
  err: unknown,
  server: { failure(what: string, cause?: unknown): MiradorError },
  timeoutMs: number,
  ms: number,
): ToolResult {
  const code = (err as { code?: unknown } | null)?.code
  const message = err instanceof Error ? err.message : String(err)
  if (MiradorError.is(err)) return { ok: false, code: err.code, error: err.message, ms }
  if (code === REQUEST_TIMEOUT)
    return { ok: false, code: 'TOOL_TIMEOUT', error: `the MCP tool did not answer within ${timeoutMs} ms`, ms }
  if (code === INVALID_PARAMS) return { ok: false, code: 'TOOL_INVALID', error: message, ms }
  if (code === CONNECTION_CLOSED)
    return { ok: false, code: 'TOOL_CRASH', error: server.failure('stopped answering', err).message, ms }
  if ((err as { name?: unknown } | null)?.name === 'AbortError')
    return { ok: false, code: 'ABORTED', error: 'the run was cancelled', ms }
  return { ok: false, code: 'TOOL_FAILED', error: message.slice(0, MAX_ERROR_CHARS), ms }
}
