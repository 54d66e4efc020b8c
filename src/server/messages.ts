/**
 * A chat request's body, checked: the chain (`model`), the query (the last user message) and
 * whether to stream. Earlier messages are not passed to the chain: a chain's stages build their
 * own prompts from `{{query}}`; conversations are `--session`'s business (see docs/serve.md).
 */
export interface ChatRequest {
  model: string
  query: string
  stream: boolean
}

type Checked = { ok: true; value: ChatRequest } | { ok: false; message: string; param: string }

function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content
  if (!Array.isArray(content)) return undefined
  // the parts form: only text parts can be a query
  const parts = content.filter(
    (p): p is { type: 'text'; text: string } =>
      typeof p === 'object' && p !== null && p.type === 'text' && typeof p.text === 'string',
  )
  return parts.length ? parts.map((p) => p.text).join('\n') : undefined
}

export function parseChatRequest(body: unknown): Checked {
  if (typeof body !== 'object' || body === null) {
    return { ok: false, message: 'the body must be a JSON object', param: 'body' }
  }
  const b = body as Record<string, unknown>
  if (typeof b.model !== 'string' || !b.model) {
    return { ok: false, message: '`model` must be a chain name (GET /v1/models lists them)', param: 'model' }
  }
  if (!Array.isArray(b.messages) || b.messages.length === 0) {
    return { ok: false, message: '`messages` must be a non-empty array', param: 'messages' }
  }
  const last = [...b.messages].reverse().find((m) => typeof m === 'object' && m !== null && m.role === 'user')
  const query = textOf((last as { content?: unknown } | undefined)?.content)?.trim()
  if (!query) return { ok: false, message: '`messages` has no user message with text', param: 'messages' }
  if (b.stream !== undefined && typeof b.stream !== 'boolean') {
    return { ok: false, message: '`stream` must be true or false', param: 'stream' }
  }
  return { ok: true, value: { model: b.model, query, stream: b.stream === true } }
}
