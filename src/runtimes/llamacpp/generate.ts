/**
 * One generation on an embedded llama.cpp model, as a stream of parts.
 *
 * - A chat (the default): the request goes through the model's chat template and node-llama-cpp's
 *   LlamaChat, with function calling when tools are offered (chat.ts).
 * - Raw completion (chat wrapper `none`): the text evaluated is `system + "\n\n" + prompt` (or just
 *   the prompt), with the model's BOS token prepended when the model asks for it; tools are ignored.
 * - Each generation gets its own LlamaContext (one sequence), disposed when the stream ends. That
 *   makes concurrent generations on one model independent and trivially correct; the cost is a
 *   KV cache per running generation and a context creation per request (about 2–5 ms for the test
 *   model, more for large models).
 * - LoRA adapters (`req.adapters`) are attached to that context, so one loaded base serves any mix
 *   of adapters at once; each adapter file is checked first (adapters.ts) and loaded onto the
 *   model once. A bad adapter is a RUNTIME_LOAD error part naming the file.
 * - The generation holds a lease on its model until its context is freed (load.ts), so the model
 *   cannot be unloaded under it.
 * - Structured output (`req.format`): sampling is constrained by a JSON grammar (grammar.ts); token
 *   confidences are still those of the model's own distribution.
 * - Never throws: every failure becomes one `error` part; abort ends with `finish` reason 'abort'.
 */
import type { Llama, LlamaContext, LlamaModel, SequenceEvaluateOptions, Token } from 'node-llama-cpp'
import { MiradorError } from '../../engine/errors.js'
import type { GenerateRequest, StreamPart } from '../../engine/runtime.js'
import { checkAdapters, type CheckedAdapter } from './adapters.js'
import { chatParts, chatPrompt, type ChatPrompt } from './chat.js'
import type { ChatWrapperName } from './chat-wrapper.js'
import { grammarFor, type GrammarUse } from './grammar.js'
import { acquireModel, getLlamaOnce, message, type ModelLease } from './load.js'
import { StopMatcher, TokenDecoder, type Piece } from './text.js'
import { tracePrompt } from './trace.js'

/** What a generation needs from the runtime's settings, already defaulted. */
export interface GenerationConfig {
  /** threads per generation; undefined = the runtime's default for this machine */
  threads?: number
  /** context window in tokens, before the request's num_ctx and the model's trained size */
  contextSize: number
  /** who holds the model (the runtime instance), for release on dispose */
  owner: object
  /** receives the context clean-up that an aborted stream leaves running after it ends */
  onBackgroundCleanup?: (cleanup: Promise<void>) => void
  /** the chat template: a wrapper's name, `auto` (from the GGUF) or `none` (raw completion) */
  chatWrapper: ChatWrapperName
  /** test seam: enter function calling at once in a first round with tools (chat.ts) */
  forceToolCall?: boolean
  /** a file each generation's prompt (as the model sees it) is appended to, as a JSON line */
  trace?: string
}

export const DEFAULT_MAX_TOKENS = 256
/** Sampling defaults when a request leaves them out: the same as Ollama's, so runtimes agree. */
export const DEFAULT_SAMPLING = { temperature: 0.8, top_k: 40, top_p: 0.9 } as const

/** Default threads: all math cores but one (left to Node and the rest of Mirador); 1 on 2 cores. */
export function defaultThreads(cpuMathCores: number): number {
  return Math.max(1, cpuMathCores - 1)
}

const ABORT = Symbol('abort')

export async function* generate(req: GenerateRequest, config: GenerationConfig): AsyncGenerator<StreamPart> {
  const signal = req.signal
  let aborted: Promise<typeof ABORT> = new Promise(() => {})
  let onAbort: (() => void) | undefined
  if (signal) {
    aborted = new Promise((resolve) => {
      onAbort = () => resolve(ABORT)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
  const abortFinish = (promptTokens: number | undefined, completionTokens: number): StreamPart => ({
    type: 'finish',
    reason: 'abort',
    usage: promptTokens === undefined ? { completionTokens } : { promptTokens, completionTokens },
  })

  let context: LlamaContext | undefined
  let tokens: AsyncGenerator<{ token: Token; confidence?: number }, void, void> | undefined
  let lease: ModelLease | undefined
  let backgroundCleanup = false
  /** LlamaChat's own end: it must come before its context is disposed */
  let chatSettled: Promise<unknown> | undefined
  try {
    if (signal?.aborted) {
      yield abortFinish(undefined, 0)
      return
    }

    // Binding and model: shared, loaded once per process.
    let model: LlamaModel
    let llama: Llama
    try {
      lease = acquireModel(req.model, config.owner)
      const loaded = await Promise.race([Promise.all([getLlamaOnce(), lease.model]), aborted])
      if (loaded === ABORT) {
        yield abortFinish(undefined, 0)
        return
      }
      ;[llama, model] = loaded
      config = { ...config, threads: config.threads ?? defaultThreads(llama.cpuMathCores) }
      // A Llama instance caps the threads of all its contexts; let an explicit setting through.
      if (llama.maxThreads !== 0 && config.threads! > llama.maxThreads) llama.maxThreads = config.threads!
    } catch (err) {
      yield { type: 'error', error: MiradorError.from(err, 'RUNTIME_LOAD', `cannot load model ${req.model}`) }
      return
    }

    // LoRA adapters: checked against this base before llama.cpp loads them.
    let adapters: CheckedAdapter[] = []
    if (req.adapters && req.adapters.length > 0) {
      try {
        const checked = await Promise.race([checkAdapters(model, req.model, req.adapters), aborted])
        if (checked === ABORT) {
          yield abortFinish(undefined, 0)
          return
        }
        adapters = checked
      } catch (err) {
        yield {
          type: 'error',
          error: MiradorError.from(err, 'RUNTIME_LOAD', `cannot load the LoRA adapters of ${req.model}`),
        }
        return
      }
    }

    let chat: ChatPrompt | undefined
    let promptTokens: Token[]
    if (config.chatWrapper === 'none') {
      const text = req.system ? `${req.system}\n\n${req.prompt}` : req.prompt
      const bos = model.tokens.bos
      promptTokens = [
        ...(model.tokens.shouldPrependBosToken && bos !== null ? [bos] : []),
        ...model.tokenize(text, false),
      ]
    } else {
      try {
        chat = await chatPrompt(model, config.chatWrapper, req, config.forceToolCall === true)
      } catch (err) {
        yield {
          type: 'error',
          error: MiradorError.from(
            err,
            'RUNTIME_FAILED',
            `cannot apply the ${config.chatWrapper} chat template of ${req.model} ` +
              '(set chat_wrapper in its manifest entry to another wrapper, or none)',
          ),
        }
        return
      }
      promptTokens = chat.tokens
    }
    if (config.trace) tracePrompt(config.trace, req, model, promptTokens, chat)
    if (promptTokens.length === 0) {
      yield {
        type: 'error',
        error: new MiradorError(
          'RUNTIME_FAILED',
          `the prompt is empty and model ${req.model} has no BOS token to start from`,
        ),
      }
      return
    }

    const opts = req.options ?? {}
    const wanted = opts.num_ctx ?? config.contextSize
    const contextSize = Math.max(1, Math.min(wanted, model.trainContextSize || wanted))
    try {
      context = await model.createContext({
        contextSize,
        threads: config.threads!,
        sequences: 1,
        ...(adapters.length > 0 && {
          lora: { adapters: adapters.map(({ filePath, scale }) => ({ filePath, scale })) },
        }),
      })
      if (adapters.length > 0) lease.noteAdapters(new Map(adapters.map((a) => [a.filePath, a.bytes])))
    } catch (err) {
      if (adapters.length > 0) {
        yield { type: 'error', error: adapterAttachError(err, req.model, adapters, contextSize) }
        return
      }
      yield {
        type: 'error',
        error: MiradorError.from(
          err,
          'RUNTIME_FAILED',
          `cannot create a ${contextSize}-token context for ${req.model} ` +
            '(lower num_ctx / contextSize if memory is short)',
        ),
      }
      return
    }
    // llama.cpp rounds the allocation up (to a multiple of 256); honour the size asked for.
    const ctxWindow = Math.min(contextSize, context.contextSize)
    if (promptTokens.length >= ctxWindow) {
      const offered = chat?.functions ? Object.keys(chat.functions).length : 0
      const toolsNote = offered ? ` (with the description of the ${offered} tool${offered > 1 ? 's' : ''} offered)` : ''
      yield {
        type: 'error',
        error: new MiradorError(
          'RUNTIME_FAILED',
          `the prompt is ${promptTokens.length} tokens${toolsNote} ` +
            `but the context window of ${req.model} is ${ctxWindow} tokens: ` +
            `shorten the prompt${chat?.functions ? ' or offer fewer tools' : ''} ` +
            `or raise num_ctx (the model was trained on ${model.trainContextSize})`,
          { details: { promptTokens: promptTokens.length, contextSize: ctxWindow } },
        ),
      }
      return
    }

    const maxTokens = Math.max(0, Math.floor(opts.max_tokens ?? DEFAULT_MAX_TOKENS))
    // Stay inside the context: no context shift for a raw completion; running out is 'length'.
    const limit = Math.min(maxTokens, ctxWindow - promptTokens.length)
    const temperature = Math.max(0, opts.temperature ?? DEFAULT_SAMPLING.temperature)
    const evalOptions: SequenceEvaluateOptions = { temperature }
    if (temperature > 0) {
      evalOptions.topK = opts.top_k ?? DEFAULT_SAMPLING.top_k
      evalOptions.topP = opts.top_p ?? DEFAULT_SAMPLING.top_p
      if (opts.seed !== undefined) evalOptions.seed = opts.seed
    }
    const stops = [...(opts.stop ?? [])]
    let grammar: GrammarUse | undefined
    if (req.format !== undefined) {
      try {
        grammar = await grammarFor(llama, model, req.format)
        evalOptions.grammarEvaluationState = grammar.state
        stops.push(...grammar.stops)
      } catch (err) {
        yield {
          type: 'error',
          error: MiradorError.from(err, 'RUNTIME_FAILED', `cannot build a JSON grammar for ${req.model}`),
        }
        return
      }
    }
    const wantLogprobs = req.logprobs === true
    if (chat) {
      if (limit === 0) {
        yield { type: 'finish', reason: 'length', usage: { promptTokens: promptTokens.length, completionTokens: 0 } }
        return
      }
      const outcome = yield* chatParts(
        {
          model,
          sequence: context.getSequence(),
          prompt: chat,
          limit,
          sampling: {
            temperature,
            ...(evalOptions.topK !== undefined ? { topK: evalOptions.topK } : {}),
            ...(evalOptions.topP !== undefined ? { topP: evalOptions.topP } : {}),
            ...(evalOptions.seed !== undefined ? { seed: evalOptions.seed } : {}),
          },
          // LlamaChat adds the grammar's own stop triggers
          ...(grammar ? { grammar: grammar.grammar } : {}),
          stops: [...(opts.stop ?? [])],
          logprobs: wantLogprobs,
          ...(signal ? { signal } : {}),
        },
        aborted,
        (settled) => (chatSettled = settled),
      )
      if (outcome.reason === 'abort') backgroundCleanup = true
      yield {
        type: 'finish',
        reason: outcome.reason,
        usage: { promptTokens: promptTokens.length, completionTokens: outcome.completionTokens },
      }
      return
    }
    tokens = context
      .getSequence()
      .evaluateWithMetadata(promptTokens, { confidence: wantLogprobs }, evalOptions) as AsyncGenerator<
      { token: Token; confidence?: number },
      void,
      void
    >

    const decoder = new TokenDecoder((t, last) => model.detokenize(t, false, last), promptTokens)
    const stopper = new StopMatcher(stops)
    const delta = (p: Piece): StreamPart =>
      p.logprob === undefined
        ? { type: 'text-delta', text: p.text }
        : { type: 'text-delta', text: p.text, logprob: p.logprob }

    let generated = 0
    let reason: 'stop' | 'length' | 'abort' = 'length'
    for (;;) {
      if (generated >= limit) break
      const next = await Promise.race([tokens.next(), aborted])
      if (next === ABORT) {
        reason = 'abort'
        break
      }
      if (next.done) {
        reason = 'stop' // end of generation token
        break
      }
      generated++
      const { token, confidence } = next.value
      const logprob = wantLogprobs && confidence !== undefined ? Math.log(confidence) : undefined
      const piece = decoder.push(token, logprob)
      if (piece) for (const p of stopper.push(piece)) yield delta(p)
      if (stopper.stopped) {
        reason = 'stop'
        break
      }
    }
    if (reason !== 'abort' && !stopper.stopped) {
      const rest = decoder.flush()
      const out = rest ? stopper.push(rest) : []
      if (stopper.stopped) reason = 'stop'
      else out.push(...stopper.flush())
      for (const p of out) yield delta(p)
    }
    if (reason === 'abort') backgroundCleanup = true
    yield {
      type: 'finish',
      reason,
      usage: { promptTokens: promptTokens.length, completionTokens: generated },
    }
  } catch (err) {
    // Anything unexpected (a native evaluation failure, a bug): one error part, never a throw.
    if (signal?.aborted) yield abortFinish(undefined, 0)
    else
      yield {
        type: 'error',
        error: MiradorError.from(err, 'RUNTIME_FAILED', `llama.cpp generation on ${req.model} failed`),
      }
  } finally {
    if (signal && onAbort) signal.removeEventListener('abort', onAbort)
    // The token generator may still be evaluating (abort raced it); return() waits for that step,
    // then the context is freed. After an abort this runs in the background so the stream ends now.
    const held = lease
    const settled = chatSettled
    const cleanup = (
      settled ? settled.catch(() => {}).then(() => release(tokens, context)) : release(tokens, context)
    ).finally(() => held?.release())
    if (backgroundCleanup) config.onBackgroundCleanup?.(cleanup)
    else await cleanup
  }
}

/** createContext failed with adapters attached: llama.cpp rejected an adapter, or memory is short. */
export function adapterAttachError(
  err: unknown,
  model: string,
  adapters: readonly CheckedAdapter[],
  contextSize: number,
): MiradorError {
  const files = adapters.map((a) => a.filePath)
  return new MiradorError(
    'RUNTIME_LOAD',
    `cannot attach LoRA adapter${files.length > 1 ? 's' : ''} ${files.join(', ')} to model ${model} ` +
      `(${message(err)}): ` +
      `check that each adapter was made for this base model and is complete (re-create it if in doubt), ` +
      `or lower num_ctx / contextSize (${contextSize}) if memory is short`,
    { cause: err, details: { model, adapters: files } },
  )
}

async function release(
  tokens: AsyncGenerator<unknown, void, void> | undefined,
  context: LlamaContext | undefined,
): Promise<void> {
  try {
    await tokens?.return()
  } catch {
    // the evaluation failed; the context is disposed below anyway
  }
  try {
    await context?.dispose()
  } catch {
    // nothing more can be done about a context that does not dispose
  }
}
