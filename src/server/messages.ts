/**
 * A chat request's body, checked: the chain (`model`), the query (the last user message), the
 * conversation before it (conversation.ts puts it where stages read `{{memory}}`), the `user` field
 * (a session name when no header names one) and whether to stream. Tool messages, assistant
 * messages without text and whatever follows the last user message are not used (docs/serve.md).
 */
export interface ChatRequest {
  model: string
  query: string
  stream: boolean
  /** the texts of the system (and developer) messages, in order */
  system: string[]
  /** the user and assistant messages before the last user message, in order */
  history: Turn[]
  user?: string
}

export interface Turn {
  role: 'user' | 'assistant'
  text: string
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
    return {
      ok: false,
      message: '`model` must be a chain name or model/NAME (GET /v1/models lists them)',
      param: 'model',
    }
  }
  if (!Array.isArray(b.messages) || b.messages.length === 0) {
    return { ok: false, message: '`messages` must be a non-empty array', param: 'messages' }
  }
  const messages = b.messages.filter(
    (m): m is { role: unknown; content?: unknown } => typeof m === 'object' && m !== null,
  )
  const at = messages.findLastIndex((m) => m.role === 'user')
  const query = at < 0 ? undefined : textOf(messages[at]!.content)?.trim()
  if (!query) return { ok: false, message: '`messages` has no user message with text', param: 'messages' }
  if (b.stream !== undefined && typeof b.stream !== 'boolean') {
    return { ok: false, message: '`stream` must be true or false', param: 'stream' }
  }
  if (b.user !== undefined && typeof b.user !== 'string') {
    return { ok: false, message: '`user` must be a string (a session name)', param: 'user' }
  }
  const system: string[] = []
  const history: Turn[] = []
  messages.forEach((m, i) => {
    const text = textOf(m.content)?.trim()
    if (!text) return
    if (m.role === 'system' || m.role === 'developer') system.push(text)
    else if (i < at && (m.role === 'user' || m.role === 'assistant')) history.push({ role: m.role, text })
  })
  return {
    ok: true,
    value: { model: b.model, query, stream: b.stream === true, system, history, ...(b.user ? { user: b.user } : {}) },
  }
}
