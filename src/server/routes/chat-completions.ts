/**
 * `POST /v1/chat/completions`: `model` names a chain (or `model/NAME`, a manifest model as a chain of
 * one stage), the last user message is its query, the earlier ones its conversation
 * (conversation.ts), the session and memory come from headers (session.ts). The
 * answer comes whole (OpenAI's chat.completion) or, with `stream: true`, as server-sent
 * chat.completion.chunk events: a delta per token of the answer stage, and the run's other events
 * (plan, stage-start, stage-end, …) in a `mirador` field of chunks with an empty delta.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { MiradorError } from '../../engine/errors.js'
import type { CoreEvent, RunEvent } from '../../engine/events.js'
import type { Served } from '../catalog.js'
import { apiError, sendError, statusOf } from '../errors.js'
import { parseChatRequest } from '../messages.js'
import { answerStage, type RunPool, type ServedRequest, type ServedRun } from '../runs.js'
import { requestMemory } from '../session.js'
import { openSse } from '../sse.js'

export interface ChatOptions {
  /** the chains and models clients may name */
  served: () => Promise<Served[]>
  pool: RunPool
  /** a request's time limit */
  timeoutMs: number
  /** headers a streamed reply needs too (CORS), since it bypasses Fastify's reply */
  streamHeaders: (req: FastifyRequest) => Record<string, string>
}

interface Call {
  req: FastifyRequest
  reply: FastifyReply
  run: ServedRequest
  signal: AbortSignal
}

/** Aborts the run when the client goes away or the time limit passes. */
function runSignal(reply: FastifyReply, timeoutMs: number): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController()
  const onClose = (): void => {
    if (!reply.raw.writableEnded) controller.abort(new MiradorError('ABORTED', 'the client went away'))
  }
  reply.raw.on('close', onClose)
  const timer = setTimeout(() => {
    controller.abort(new MiradorError('ABORTED', `the request ran past its time limit (${timeoutMs / 1000}s)`))
  }, timeoutMs)
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer)
      reply.raw.off('close', onClose)
    },
  }
}

function usage(run: ServedRun) {
  const completion = run.done?.tokens ?? 0
  return { prompt_tokens: run.promptTokens, completion_tokens: completion, total_tokens: run.promptTokens + completion }
}

function failure(run: ServedRun, signal: AbortSignal): { status: number; message: string; code: string } | undefined {
  if (run.done?.ok) return undefined
  // the engine says only that the run was cancelled: why (the time limit) is ours to say
  if (signal.aborted) {
    const why = MiradorError.from(signal.reason, 'ABORTED')
    return { status: statusOf(why.code), message: why.message, code: why.code }
  }
  const code = run.error?.code ?? 'INTERNAL'
  return { status: statusOf(code), message: run.error?.message ?? 'the chain gave no answer', code }
}

const created = (): number => Math.floor(Date.now() / 1000)
const busy = (reply: FastifyReply): void =>
  sendError(reply, 429, 'too many runs at once: try again shortly', 'rate_limit_exceeded')

export function chatCompletionsRoute(app: FastifyInstance, o: ChatOptions): void {
  app.post('/v1/chat/completions', async (req, reply) => {
    const parsed = parseChatRequest(req.body)
    if (!parsed.ok) return sendError(reply, 400, parsed.message, 'invalid_' + parsed.param)
    const { model, query, stream, system, history, user } = parsed.value
    const asked = requestMemory(req.headers, user)
    if (!asked.ok) return sendError(reply, 400, asked.message, 'invalid_' + asked.param)
    const chain = (await o.served()).find((s) => s.id === model)?.chain
    if (!chain) {
      const what = model.startsWith('model/') ? 'model in the manifest' : 'chain'
      return sendError(reply, 404, `no ${what} named "${model}": GET /v1/models lists them`, 'model_not_found')
    }
    const { signal, clear } = runSignal(reply, o.timeoutMs)
    try {
      const run: ServedRequest = {
        chain,
        query,
        memory: asked.memory,
        ...(asked.session ? { session: asked.session } : {}),
        conversation: { system, history },
      }
      const call = { req, reply, run, signal }
      return await (stream ? streamed(o, call) : whole(o, call))
    } finally {
      clear()
    }
  })
}

async function whole(o: ChatOptions, { reply, run: asked, signal }: Call) {
  const { chain } = asked
  const started = o.pool.tryRun(asked, signal, () => {})
  if (!started) return busy(reply)
  const run = await started.finished
  const failed = failure(run, signal)
  if (failed) return sendError(reply, failed.status, failed.message, failed.code)
  const done = run.done!
  return {
    id: `chatcmpl-${run.runId}`,
    object: 'chat.completion',
    created: created(),
    model: chain.name,
    choices: [
      { index: 0, message: { role: 'assistant', content: done.answer }, logprobs: null, finish_reason: 'stop' },
    ],
    usage: usage(run),
    mirador: { runId: run.runId, stage: done.stage, confidence: done.confidence, models: done.models, ms: done.ms },
  }
}

async function streamed(o: ChatOptions, { req, reply, run: asked, signal }: Call): Promise<void> {
  const { chain } = asked
  const base = { id: 'chatcmpl-', object: 'chat.completion.chunk', created: created(), model: chain.name }
  const stage = answerStage(chain)
  let said = ''
  const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null }],
    ...extra,
  })
  // what the run says before the stream is open (its plan) waits for it
  const early: RunEvent[] = []
  let deliver = (e: RunEvent): void => void early.push(e)
  const started = o.pool.tryRun(asked, signal, (e) => deliver(e))
  if (!started) return busy(reply)
  base.id += started.runId
  reply.hijack()
  const sse = openSse(reply.raw, o.streamHeaders(req))
  sse.send(chunk({ role: 'assistant', content: '' }))
  deliver = (e) => {
    if (e.type === 'token') {
      const token = e as CoreEvent & { type: 'token' }
      if (token.stage !== stage) return
      said += token.text
      sse.send(chunk({ content: token.text }))
    } else if (e.type !== 'done') {
      sse.send(chunk({}, { mirador: e }))
    }
  }
  early.splice(0).forEach(deliver)
  const run = await started.finished
  const failed = failure(run, signal)
  if (failed) {
    sse.send(apiError(failed.status, failed.message, failed.code))
  } else {
    // the answer came from another stage (the first failed or was skipped): it is said at once
    const answer = run.done!.answer
    if (!said && answer) sse.send(chunk({ content: answer }))
    sse.send({
      ...base,
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }],
      usage: usage(run),
      mirador: run.done,
    })
  }
  sse.end()
}
