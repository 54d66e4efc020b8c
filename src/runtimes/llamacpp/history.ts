/**
 * A Mirador request as node-llama-cpp's chat history (pure, no node-llama-cpp import at run time):
 *
 * - `system` is a system message, `prompt` the user's message.
 * - The tool rounds so far (`req.turns`) are ONE model response that goes on: the text the model
 *   said, then each call with its result (node-llama-cpp's `functionCall` items), in order, as
 *   node-llama-cpp's own LlamaChatSession keeps them. The history ends with that model response, so
 *   the generation continues it; the first round ends with an empty one.
 * - A tool's answer is the JSON text the engine made (the value, or `{error, code}`); it is parsed
 *   back so the chat wrapper writes it as JSON once, not as a quoted string.
 * - Offered tools are node-llama-cpp's `functions`: name, description and the JSON Schema of the
 *   parameters (node-llama-cpp turns it into the grammar the call's arguments are generated under).
 */
import type { ChatHistoryItem, ChatModelFunctionCall, ChatModelFunctions, ChatModelResponse } from 'node-llama-cpp'
import type { GenerateRequest, ToolDefinition } from '../../engine/runtime.js'

export function chatHistory(req: Pick<GenerateRequest, 'system' | 'prompt' | 'turns'>): ChatHistoryItem[] {
  const response: ChatModelResponse['response'] = []
  const calls = new Map<string, ChatModelFunctionCall>()
  for (const turn of req.turns ?? []) {
    if (turn.role === 'assistant') {
      if (turn.content) response.push(turn.content)
      turn.toolCalls.forEach((call, i) => {
        const item: ChatModelFunctionCall = {
          type: 'functionCall',
          name: call.name,
          params: call.arguments,
          result: null,
          ...(i === 0 ? { startsNewChunk: true } : {}),
        }
        calls.set(call.id, item)
        response.push(item)
      })
    } else {
      const item = calls.get(turn.callId)
      if (item) item.result = parseResult(turn.content)
    }
  }
  return [
    ...(req.system ? [{ type: 'system' as const, text: req.system }] : []),
    { type: 'user', text: req.prompt },
    { type: 'model', response },
  ]
}

function parseResult(content: string): unknown {
  try {
    return JSON.parse(content)
  } catch {
    return content
  }
}

/** node-llama-cpp's `functions` for the offered tools, or undefined when none are. */
export function chatFunctions(tools: readonly ToolDefinition[] | undefined): ChatModelFunctions | undefined {
  if (!tools || tools.length === 0) return undefined
  const out: Record<string, ChatModelFunctions[string]> = {}
  for (const t of tools) {
    // a tool's parameters are an object schema, checked when the tool loads; node-llama-cpp reads
    // the subset of JSON Schema it knows (GbnfJsonSchema) and the tools plugin validates the rest
    out[t.name] = { description: t.description, params: t.parameters as ChatModelFunctions[string]['params'] }
  }
  return out
}
