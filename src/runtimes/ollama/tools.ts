/**
 * Tool calling in Ollama's chat protocol (docs/api.md, "Chat request (with tools)"):
 *
 * - Offered tools go out as `tools: [{ type: 'function', function: { name, description,
 *   parameters } }]`; an empty list is left out, so the model answers in text.
 * - Earlier rounds (`GenerateRequest.turns`) follow the user prompt: an assistant turn is
 *   `{ role: 'assistant', content, tool_calls: [{ function: { name, arguments } }] }`, a tool
 *   answer `{ role: 'tool', content, tool_name }`. Ollama matches answers to calls by order and
 *   tool name; Mirador's call ids are not sent (the 0.6.4 client's types have no place for them).
 * - A reply's `message.tool_calls: [{ id?, function: { index?, name, arguments } }]` become
 *   ToolCallRequests. The id is Ollama's when it sends one (newer servers do), else `call_<n>`
 *   counting the calls of the request from 0; ids are unique within one request (a repeated or
 *   colliding id gets a `_<k>` suffix). They are not unique across requests: the engine pairs
 *   calls and answers within a round.
 * - `arguments` must end up a plain object. Ollama sends an object; a JSON string (what
 *   OpenAI-style servers send) is parsed; missing, null or a blank string is `{}`. Anything else
 *   (a string that is not JSON, JSON that is not an object, an array, a number), or a call without
 *   a function name, is a RUNTIME_PROTOCOL error part that ends the stream. Ollama itself never
 *   sends that (model output that does not parse as a call stays text), so it means a server or
 *   proxy that does not speak the protocol; running the tool with made-up `{}` arguments could do
 *   something the model did not ask for, so the call is refused rather than guessed.
 */
import type { Message, Tool } from 'ollama'
import { MiradorError } from '../../engine/errors.js'
import type { ToolCallRequest, ToolDefinition, ToolTurn } from '../../engine/runtime.js'
import type { FailureContext } from './errors.js'
import { displayHost } from './host.js'

/** Ollama's `tools`, or undefined when none are offered */
export function toolsOf(tools: readonly ToolDefinition[] | undefined): Tool[] | undefined {
  if (!tools || tools.length === 0) return undefined
  return tools.map((t) => ({
    type: 'function',
    function: {
      name: t.name,
      description: t.description,
      parameters: t.parameters as NonNullable<Tool['function']['parameters']>,
    },
  }))
}

/** the messages of the earlier rounds, after the prompt */
export function toolMessages(turns: readonly ToolTurn[] | undefined): Message[] {
  return (turns ?? []).map(
    (t): Message =>
      t.role === 'assistant'
        ? {
            role: 'assistant',
            content: t.content,
            ...(t.toolCalls.length
              ? { tool_calls: t.toolCalls.map((c) => ({ function: { name: c.name, arguments: c.arguments } })) }
              : {}),
          }
        : { role: 'tool', content: t.content, tool_name: t.name },
  )
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function snippet(v: unknown): string {
  let text: string
  try {
    text = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v))
  } catch {
    text = String(v)
  }
  return text.length > 80 ? `${text.slice(0, 80)}…` : text
}

/** Reads the tool calls of one request's stream, numbering those without an id. */
export class ToolCallReader {
  #count = 0
  readonly #ids = new Set<string>()

  #unique(id: string): string {
    let out = id
    for (let k = 2; this.#ids.has(out); k++) out = `${id}_${k}`
    this.#ids.add(out)
    return out
  }

  /** one entry of `message.tool_calls`: the call, or what is wrong with it */
  read(raw: unknown): ToolCallRequest | { problem: string } {
    const n = this.#count++
    const fn = isPlainObject(raw) ? raw.function : undefined
    if (!isPlainObject(fn)) return { problem: `a tool call without a "function" object: ${snippet(raw)}` }
    const name = fn.name
    if (typeof name !== 'string' || !name.trim())
      return { problem: `a tool call without a function name: ${snippet(raw)}` }
    let args: unknown = fn.arguments
    if (typeof args === 'string') {
      if (!args.trim()) args = {}
      else {
        try {
          args = JSON.parse(args)
        } catch {
          return { problem: `a tool call to "${name}" whose arguments are not JSON: ${snippet(fn.arguments)}` }
        }
      }
    }
    if (args === undefined || args === null) args = {}
    if (!isPlainObject(args))
      return { problem: `a tool call to "${name}" whose arguments are not a JSON object: ${snippet(fn.arguments)}` }
    const given = (raw as { id?: unknown }).id
    const id = this.#unique(typeof given === 'string' && given ? given : `call_${n}`)
    return { id, name, arguments: args }
  }
}

/** A tool call Mirador cannot use: the server does not speak Ollama's tool-call protocol. */
export function toolCallError(problem: string, ctx: Pick<FailureContext, 'host' | 'model' | 'tokens'>): MiradorError {
  return new MiradorError(
    'RUNTIME_PROTOCOL',
    `Ollama at ${displayHost(ctx.host)} sent ${problem} while running ${ctx.model}. ` +
      'Tool-call arguments must be a JSON object; ' +
      "check that OLLAMA_HOST (or the model's `host`) points at an Ollama server, " +
      'not a proxy that rewrites tool calls.',
    { details: { host: ctx.host, model: ctx.model, tokens: ctx.tokens } },
  )
}
