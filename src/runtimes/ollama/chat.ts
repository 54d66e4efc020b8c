/**
 * One streamed chat request to Ollama, as StreamParts. It never throws: failures become one
 * `error` part. It returns 'missing' instead when Ollama answers 404 for the model before any
 * token, so the caller can pull and try again.
 *
 * - Log-probabilities: a chunk's `logprobs` may hold several tokens (Ollama merges tokens when it
 *   holds text back, e.g. around stop sequences or split UTF-8). A text delta's `logprob` is the
 *   SUM of its tokens' logprobs: the log-probability of the delta's whole text, which with the
 *   usual one-token chunks is exactly that token's logprob. Logprobs of a chunk without text are
 *   carried to the next delta.
 * - Abort (the request's signal): the stream ends with `finish` reason 'abort' and the usage so
 *   far. Cancelling is what the user asked for, so it is not reported as an error.
 * - Timeouts: no chunk within `firstTokenTimeoutMs` of sending, or no chunk for `idleTimeoutMs`
 *   after one → RUNTIME_TIMEOUT; the request is aborted. Time the consumer spends between parts
 *   is not counted.
 * - Tools (tools.ts): `req.tools` become Ollama's `tools`, `req.turns` the assistant/tool messages
 *   after the prompt. Each entry of a chunk's `message.tool_calls` is one `tool-call` part, after
 *   the chunk's text (a reply may hold both). Logprobs of a chunk with tool calls are not carried
 *   to later text: they were the call's tokens.
 * - Structured output: `req.format` ('json' or a JSON Schema) is Ollama's own `format`.
 */
import type { GenerateRequest, StreamPart } from '../../engine/runtime.js'
import type { ChatRequest, ChatResponse, Message, Options } from 'ollama'
import { makeClient, newWatch } from './client.js'
import { isModelNotFound, timeoutError, toMiradorError } from './errors.js'
import { RequestGuard } from './guard.js'
import { NdjsonReader } from './ndjson.js'
import { ToolCallReader, toolCallError, toolMessages, toolsOf } from './tools.js'

export interface ChatEnv {
  host: string
  fetch?: typeof fetch | undefined
  firstTokenTimeoutMs: number
  idleTimeoutMs: number
  /** requests in flight, so dispose() can stop them */
  active: Set<RequestGuard>
}

export function chatRequest(req: GenerateRequest): ChatRequest & { stream: true } {
  const o = req.options ?? {}
  const options: Partial<Options> = {}
  if (o.max_tokens !== undefined) options.num_predict = o.max_tokens
  if (o.num_ctx !== undefined) options.num_ctx = o.num_ctx
  if (o.temperature !== undefined) options.temperature = o.temperature
  if (o.top_p !== undefined) options.top_p = o.top_p
  if (o.top_k !== undefined) options.top_k = o.top_k
  if (o.seed !== undefined) options.seed = o.seed
  if (o.stop !== undefined && o.stop.length > 0) options.stop = o.stop
  const messages: Message[] = [
    ...(req.system ? [{ role: 'system', content: req.system }] : []),
    { role: 'user', content: req.prompt },
    ...toolMessages(req.turns),
  ]
  const tools = toolsOf(req.tools)
  return {
    model: req.model,
    messages,
    stream: true,
    ...(tools ? { tools } : {}),
    ...(req.format !== undefined ? { format: req.format } : {}),
    ...(Object.keys(options).length ? { options } : {}),
    ...(req.keepAlive !== undefined ? { keep_alive: req.keepAlive } : {}),
    ...(req.logprobs ? { logprobs: true, top_logprobs: 0 } : {}),
  }
}

type FinishReason = 'stop' | 'length' | 'abort'
const reasonOf = (r: unknown): FinishReason => (r === 'length' ? 'length' : 'stop')

export async function* chatOnce(env: ChatEnv, req: GenerateRequest): AsyncGenerator<StreamPart, 'ok' | 'missing'> {
  const guard = new RequestGuard(req.signal)
  env.active.add(guard)
  const watch = newWatch()
  let tokens = 0
  let completed = false
  let abortStream: (() => void) | undefined
  let lines: NdjsonReader<ChatResponse> | undefined
  const ctx = { host: env.host, model: req.model, watch, action: 'run' as const }
  try {
    try {
      guard.arm('first-token', env.firstTokenTimeoutMs)
      const client = await guard.race(
        makeClient(env.host, { fetch: env.fetch, signal: guard.signal, watch, ndjson: true }),
      )
      const stream = await guard.race(client.chat(chatRequest(req)))
      abortStream = () => stream.abort()
      lines = new NdjsonReader<ChatResponse>(watch, guard.signal)
      const calls = new ToolCallReader()
      let pending: number | undefined
      for (;;) {
        // a network chunk's worth of messages: the clock is only touched once per chunk
        const batch = await lines.read()
        if (!batch) throw new Error('Did not receive done or success response in stream.')
        if (batch.length === 0) continue
        guard.pause()
        for (const chunk of batch) {
          if (chunk.logprobs) {
            for (const lp of chunk.logprobs) if (typeof lp?.logprob === 'number') pending = (pending ?? 0) + lp.logprob
          }
          const text = chunk.message?.content
          if (text) {
            tokens++
            const part: StreamPart =
              pending === undefined ? { type: 'text-delta', text } : { type: 'text-delta', text, logprob: pending }
            pending = undefined
            yield part
          }
          const rawCalls: unknown = chunk.message?.tool_calls
          if (Array.isArray(rawCalls) && rawCalls.length > 0) {
            pending = undefined
            for (const raw of rawCalls) {
              const call = calls.read(raw)
              if ('problem' in call) {
                yield { type: 'error', error: toolCallError(call.problem, { ...ctx, tokens }) }
                return 'ok'
              }
              yield { type: 'tool-call', call }
            }
          }
          if (chunk.done) {
            completed = true
            const usage = {
              ...(typeof chunk.prompt_eval_count === 'number' ? { promptTokens: chunk.prompt_eval_count } : {}),
              completionTokens: typeof chunk.eval_count === 'number' ? chunk.eval_count : tokens,
            }
            yield { type: 'finish', reason: reasonOf(chunk.done_reason), usage }
            return 'ok'
          }
        }
        guard.arm('idle', env.idleTimeoutMs)
      }
    } catch (err) {
      guard.pause()
      const why = guard.why
      if (why === 'user' || why === 'dispose') {
        yield { type: 'finish', reason: 'abort', usage: { completionTokens: tokens } }
        return 'ok'
      }
      if (why === 'first-token' || why === 'idle') {
        const ms = why === 'first-token' ? env.firstTokenTimeoutMs : env.idleTimeoutMs
        yield { type: 'error', error: timeoutError(why, ms, { ...ctx, tokens }) }
        return 'ok'
      }
      if (tokens === 0 && isModelNotFound(err)) return 'missing'
      yield { type: 'error', error: toMiradorError(err, { ...ctx, tokens }) }
      return 'ok'
    }
  } finally {
    if (!completed) abortStream?.()
    lines?.close()
    guard.dispose(completed)
    env.active.delete(guard)
  }
}
