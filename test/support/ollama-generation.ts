/**
 * The Ollama test double's deterministic generation, apart from the HTTP server so that tests can
 * compute exactly what a generation will stream (`plannedTokens`, `tokenLogprob`) without reading
 * the server. Re-exported by ollama-server.ts, which tests and benchmarks import.
 */

/** FNV-1a, 32 bits */
export function hash32(text: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}

/** "llama3.2" → "llama3.2:latest" (Ollama's default tag) */
export function normalizeModelName(name: string): string {
  const n = name.trim()
  const last = n.slice(n.lastIndexOf('/') + 1)
  return last.includes(':') ? n : `${n}:latest`
}

/** Splits text into word-ish tokens that keep their leading whitespace: "The", " answer", "." */
export function tokenize(text: string): string[] {
  return text.match(/\s*[\p{L}\p{N}_']+|\s*[^\p{L}\p{N}_'\s]/gu) ?? []
}

const OPENERS = ['Here is a short answer.', 'Good question.', 'Let me think about that.', 'In brief:']

/** The default reply: a few sentences that name the model and quote the prompt's last words. */
export function defaultReply(model: string, prompt: string): string {
  const words = prompt.trim().split(/\s+/).filter(Boolean)
  const last =
    words
      .slice(-4)
      .join(' ')
      .replace(/[\s.?!,;:]+$/u, '') || 'nothing'
  const opener = OPENERS[hash32(`${model}\n${prompt}`) % OPENERS.length]
  return (
    `${opener} You asked about "${last}". The answer depends on the details, ` +
    `but ${model} would start with the basics and build from there. That is all for now.`
  )
}

/**
 * The reply of a model created with adapters: its base's reply (the default reply under the
 * derived model's own name, or the base's custom `reply`) marked with the adapters' file names, so
 * a test can see that the adapter took effect: `[tone.gguf] Good question. …`.
 */
export function adaptedReply(reply: string, adapterNames: readonly string[]): string {
  return `[${adapterNames.join(' + ')}] ${reply}`
}

/** The logprob of the token at `index`, in [-2.5, -0.01], rounded to 6 decimals. */
export function tokenLogprob(model: string, index: number, token: string): number {
  const h = hash32(`${model}#${index}#${token}`)
  return Math.round((-0.01 - (h / 0x100000000) * 2.49) * 1e6) / 1e6
}

export interface TokenPlan {
  tokens: string[]
  reason: 'stop' | 'length'
}

/**
 * What a generation streams: the reply's tokens, cycled or cut to `tokens` when given, then cut to
 * `numPredict` (done_reason 'length') when that is smaller. numPredict < 0 means no limit.
 */
export function plannedTokens(
  reply: string,
  opts: { tokens?: number | undefined; numPredict?: number | undefined } = {},
): TokenPlan {
  let tokens = tokenize(reply)
  if (opts.tokens !== undefined && tokens.length > 0) {
    const want = Math.max(0, Math.floor(opts.tokens))
    const out: string[] = []
    for (let i = 0; i < want; i++) {
      let t = tokens[i % tokens.length]!
      // when the reply starts again, it starts as a new word
      if (i >= tokens.length && i % tokens.length === 0 && !/^\s/.test(t)) t = ` ${t}`
      out.push(t)
    }
    tokens = out
  }
  const np = opts.numPredict
  if (np !== undefined && np >= 0 && np < tokens.length) return { tokens: tokens.slice(0, np), reason: 'length' }
  return { tokens, reason: 'stop' }
}

/** A bag-of-words embedding: similar texts get similar unit vectors. */
export function embedText(text: string, dims: number): number[] {
  const v = new Array<number>(dims).fill(0)
  for (const w of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = hash32(w)
    v[h % dims]! += (h >>> 16) & 1 ? 1 : -1
    const h2 = hash32(`${w}~`)
    v[h2 % dims]! += (h2 >>> 16) & 1 ? 0.5 : -0.5
  }
  const norm = Math.hypot(...v)
  if (norm === 0) {
    v[0] = 1
    return v
  }
  return v.map((x) => Math.round((x / norm) * 1e7) / 1e7)
}

/** A `CALL <tool_name> <json-args>` directive in a prompt. */
export interface ToolDirective {
  name: string
  arguments: Record<string, unknown>
}

/** the JSON object that starts at text[start] ('{'), or undefined when the braces never close */
function jsonObjectAt(text: string, start: number): string | undefined {
  let depth = 0
  let inString = false
  for (let i = start; i < text.length; i++) {
    const c = text[i]
    if (inString) {
      if (c === '\\') i++
      else if (c === '"') inString = false
    } else if (c === '"') inString = true
    else if (c === '{') depth++
    else if (c === '}' && --depth === 0) return text.slice(start, i + 1)
  }
  return undefined
}

/**
 * The `CALL <tool_name> <json-args>` directives in a text, in order. The arguments are a JSON
 * object right after the name (none → `{}`); a directive whose arguments are not a JSON object is
 * not a call, as Ollama leaves model output that does not parse as a tool call as text.
 */
export function toolDirectives(text: string): ToolDirective[] {
  const out: ToolDirective[] = []
  const re = /\bCALL\s+([A-Za-z_][\w.-]*)/g
  for (let m = re.exec(text); m; m = re.exec(text)) {
    let at = m.index + m[0].length
    while (at < text.length && /[ \t]/.test(text[at]!)) at++
    if (text[at] !== '{') {
      out.push({ name: m[1]!, arguments: {} })
      continue
    }
    const json = jsonObjectAt(text, at)
    if (json === undefined) continue
    try {
      const args: unknown = JSON.parse(json)
      if (args && typeof args === 'object' && !Array.isArray(args))
        out.push({ name: m[1]!, arguments: args as Record<string, unknown> })
    } catch {
      // not JSON: not a call
    }
    re.lastIndex = at + json.length
  }
  return out
}

/** The reply once tools have answered: it quotes each answer, so a test can see it reached the model. */
export function toolResultReply(results: ReadonlyArray<{ name: string; content: string }>): string {
  return results.map((r) => `The tool ${r.name} said: ${r.content}.`).join(' ')
}

/**
 * The reply to a request with `format` (structured output), as a model Ollama constrains would
 * give: `{"answer": reply}` for 'json'; for a schema, an object with each of its properties (a
 * string property holds the reply, a number its length, a boolean true, others null).
 */
export function formatReply(reply: string, format: unknown): string {
  const props = (format as { properties?: Record<string, { type?: unknown }> } | null)?.properties
  if (format === 'json' || !props || typeof props !== 'object') return JSON.stringify({ answer: reply })
  const value = (type: unknown): unknown =>
    type === 'string'
      ? reply
      : type === 'number' || type === 'integer'
        ? reply.length
        : type === 'boolean'
          ? true
          : null
  return JSON.stringify(Object.fromEntries(Object.entries(props).map(([k, s]) => [k, value(s?.type)])))
}
