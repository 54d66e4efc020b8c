/**
 * The embedded llama.cpp runtime: GGUF models run in-process through node-llama-cpp (CPU only).
 *
 * - `req.model` is the path of a GGUF file (resolved by the caller). node-llama-cpp is imported on
 *   the first generate/status; the binding (`getLlama`, about 0.3–0.5 s) and each model file are
 *   loaded once per process and shared by every runtime instance (load.ts).
 * - Chat templates: a request is a chat (system, user prompt, tool rounds) in the model's own
 *   template, through node-llama-cpp's chat wrappers and LlamaChat (chat.ts); `chatWrapper` picks
 *   the template (`auto`: from the GGUF's metadata). `chatWrapper: 'none'` is raw completion: the
 *   model sees `system + "\n\n" + prompt` (or the prompt) after its BOS token (generate.ts).
 * - Tool calling (chat only): `req.tools` are node-llama-cpp functions; a call the model makes is a
 *   `tool-call` part that ends the round, `req.turns` carry the calls and results back (chat.ts).
 *   With `none`, tools are ignored and it never yields a `tool-call` part.
 * - Options: max_tokens (default 256), temperature (0 = greedy), top_k, top_p, seed, stop, num_ctx.
 *   Left-out sampling options take Ollama's defaults (temperature 0.8, top_k 40, top_p 0.9) so a
 *   chain behaves alike on both runtimes. No repeat penalty is applied; keepAlive is ignored
 *   (models stay loaded until dispose()).
 * - Log-probabilities are computed only when the request asks (`logprobs: true`), like Ollama.
 * - Each generation has its own context: concurrent generations on one model are independent, at
 *   the price of one KV cache per running generation (generate.ts).
 * - Abort (req.signal) ends the stream with `finish` reason 'abort'; failures are `error` parts.
 * - LoRA: `req.adapters` (`[{ file, scale }]`, GGUF adapters) are attached to the generation's own
 *   context; the base stays loaded once and is shared, so N adapters cost one base plus N small
 *   adapter files, and generations with different adapters can run at once (adapters.ts).
 * - prepare(spec) loads the base and loads and checks its adapters ahead of the first request;
 *   unload(model) disposes a model (refused while a generation runs on it); listLoaded() lists
 *   the models loaded in this process. All three act on the process-wide model cache (load.ts).
 * - embed(modelPath, texts) gives one raw (unnormalised) vector per text from one embedding
 *   context per loaded model, reused (embed.ts).
 * - node-llama-cpp's "bad special token" load warnings are dropped; other llama.cpp warnings and
 *   errors are still printed.
 */
import { MiradorError } from '../../engine/errors.js'
import type {
  GenerateRequest,
  LoadedModelInfo,
  ModelSpec,
  PreparedModel,
  Progress,
  Runtime,
  RuntimeStatus,
  StreamPart,
} from '../../engine/runtime.js'
import { checkAdapters } from './adapters.js'
import { checkChatWrapperName, type ChatWrapperName } from './chat-wrapper.js'
import { embedTexts } from './embed.js'
import { adapterAttachError, generate, defaultThreads } from './generate.js'
import {
  acquireModel,
  loadedModelSize,
  loadedModels,
  releaseModels,
  message,
  getLlamaOnce,
  unloadModel,
} from './load.js'

export { llamaCppStats } from './load.js'
export { CHAT_WRAPPER_NAMES, type ChatWrapperName } from './chat-wrapper.js'
export { DEFAULT_MAX_TOKENS, DEFAULT_SAMPLING } from './generate.js'

export interface LlamaCppSettings {
  /**
   * CPU threads per generation. Default: the machine's math cores minus one, at least 1 — so 1 on
   * a 2-core machine, which leaves a core to Node and measured fastest for small models there
   * (node-llama-cpp's own default, 4 on 2 cores, oversubscribes and is orders of magnitude slower).
   */
  threads?: number
  /**
   * Context window in tokens. Default 2048; a request's `num_ctx` overrides it; clamped to the model's trained
   * context.
   */
  contextSize?: number
  /** GPU offload is not supported yet: only `false` (the default) is accepted. */
  gpu?: false
  /**
   * The chat template (chat-wrapper.ts): `auto` (the default, from the GGUF's metadata), one of
   * node-llama-cpp's wrapper names, or `none` for raw completion.
   */
  chatWrapper?: ChatWrapperName
  /**
   * Test seam, not a user setting: in the first round of a request with tools, generation enters
   * node-llama-cpp's function-calling mode at once, so a model too small to call a function by itself
   * still goes through the whole function-calling path (chat.ts). The CLI sets it from
   * MIRADOR_LLAMACPP_FORCE_TOOL_CALL=1.
   */
  forceToolCall?: boolean
  /** append each generation's prompt, as the model sees it, to this file (trace.ts); MIRADOR_LLAMACPP_TRACE */
  trace?: string
}

export const DEFAULT_CONTEXT_SIZE = 2048
export const RUNTIME_NAME = 'llamacpp'
/** Context size of the short-lived context prepare() attaches adapters with (llama.cpp's minimum) */
const PREPARE_CONTEXT_SIZE = 256

export function createLlamaCpp(settings: LlamaCppSettings = {}): Runtime {
  const { threads, contextSize = DEFAULT_CONTEXT_SIZE, gpu = false, forceToolCall = false, trace } = settings
  const chatWrapper = checkChatWrapperName(settings.chatWrapper ?? 'auto')
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1))
    throw new MiradorError('USAGE', `llama.cpp threads must be a whole number of at least 1, not ${threads}`)
  if (!(Number.isInteger(contextSize) && contextSize >= 1))
    throw new MiradorError('USAGE', `llama.cpp contextSize must be a whole number of tokens, not ${contextSize}`)
  if (gpu !== false)
    throw new MiradorError('USAGE', 'the llama.cpp runtime runs on the CPU only: set gpu to false or leave it out')

  /** identifies this runtime instance as a holder of shared models */
  const owner = {}
  const active = new Set<AbortController>()
  const cleanups = new Set<Promise<void>>()
  const onBackgroundCleanup = (p: Promise<void>) => {
    cleanups.add(p)
    void p.finally(() => cleanups.delete(p))
  }

  async function* run(req: GenerateRequest): AsyncGenerator<StreamPart> {
    // One controller per generation, so dispose() can stop it; it follows the caller's signal.
    const controller = new AbortController()
    const outer = req.signal
    const follow = () => controller.abort(outer?.reason)
    if (outer?.aborted) controller.abort(outer.reason)
    else outer?.addEventListener('abort', follow, { once: true })
    active.add(controller)
    try {
      yield* generate(
        { ...req, signal: controller.signal },
        { threads, contextSize, owner, onBackgroundCleanup, chatWrapper, forceToolCall, ...(trace ? { trace } : {}) },
      )
    } finally {
      outer?.removeEventListener('abort', follow)
      active.delete(controller)
    }
  }

  return {
    name: RUNTIME_NAME,
    generate: run,

    async status(): Promise<RuntimeStatus> {
      const where = 'node-llama-cpp (in-process)'
      try {
        const llama = await getLlamaOnce()
        const release = llama.llamaCppRelease
        return {
          runtime: RUNTIME_NAME,
          ok: true,
          where: `${where}, llama.cpp ${release.release} (${release.repo})`,
          detail:
            `${llama.buildType === 'prebuilt' ? 'prebuilt' : 'locally built'} binary, ` +
            `${llama.gpu === false ? 'CPU backend' : `${llama.gpu} backend`}, ` +
            `${threads ?? defaultThreads(llama.cpuMathCores)} thread(s) per generation ` +
            `of ${llama.cpuMathCores} math cores; ` +
            llama.systemInfo.trim(),
        }
      } catch (err) {
        return { runtime: RUNTIME_NAME, ok: false, where, detail: message(err) }
      }
    },

    /**
     * Loads the base GGUF (once per process) and makes its adapters ready: each adapter file is
     * checked (exists, is a LoRA GGUF for this base; else RUNTIME_LOAD naming it) and then loaded
     * onto the model by attaching it to a small, short-lived context, so llama.cpp itself has
     * accepted it and the first generation does not pay its load. `sizeBytes` is the model's size in
     * memory (node-llama-cpp's figure, else the file size) plus its adapter files. `model` is the
     * base path made absolute and normalized (as listLoaded reports it; unchanged for an absolute
     * path), `adapters` are spec.adapters as given.
     * Throws MiradorError: RUNTIME_LOAD, USAGE (bad scale), ABORTED.
     */
    async prepare(
      spec: ModelSpec,
      options: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {},
    ): Promise<PreparedModel> {
      const { signal, onProgress } = options
      const check = () => {
        if (signal?.aborted) throw new MiradorError('ABORTED', `preparing model ${spec.name} was cancelled`)
      }
      const progress = (p: Progress) => {
        try {
          onProgress?.(p)
        } catch {
          // a failing progress listener must not fail the load
        }
      }
      check()
      const adapters = spec.adapters ?? []
      const lease = acquireModel(spec.base, owner)
      try {
        progress({ status: `loading ${spec.base}` })
        const model = await untilAborted(lease.model, signal, spec.name)
        if (adapters.length > 0) {
          progress({ status: 'checking adapters', completed: 0, total: adapters.length })
          const checked = await untilAborted(checkAdapters(model, spec.base, adapters), signal, spec.name)
          check()
          progress({ status: 'loading adapters', completed: 0, total: adapters.length })
          const contextSize = Math.max(
            1,
            Math.min(PREPARE_CONTEXT_SIZE, model.trainContextSize || PREPARE_CONTEXT_SIZE),
          )
          let context
          try {
            context = await model.createContext({
              contextSize,
              threads: 1, // it evaluates nothing
              sequences: 1,
              lora: { adapters: checked.map(({ filePath, scale }) => ({ filePath, scale })) },
            })
          } catch (err) {
            throw adapterAttachError(err, spec.base, checked, contextSize)
          }
          lease.noteAdapters(new Map(checked.map((a) => [a.filePath, a.bytes])))
          await context.dispose()
          progress({ status: 'loading adapters', completed: adapters.length, total: adapters.length })
        }
        progress({ status: 'ready' })
        const sizeBytes = loadedModelSize(spec.base)
        return {
          model: lease.key, // spec.base as an absolute, normalized path: the form listLoaded reports
          ...(spec.adapters && { adapters: spec.adapters }),
          ...(sizeBytes !== undefined && { sizeBytes }),
        }
      } finally {
        lease.release()
      }
    },

    /**
     * Disposes the model (a GGUF path, as in GenerateRequest.model) and its adapters, for every
     * runtime instance of this process; a later generate or prepare loads it again. A model that is
     * not loaded is left alone. Throws a USAGE MiradorError, unloading nothing, while a generation
     * or a prepare is running on it.
     */
    async unload(model: string): Promise<void> {
      await unloadModel(model)
    },

    /**
     * Embeds texts with the GGUF model at `model` (loaded once per process, like generate), one raw
     * vector per text; see embed.ts. dispose() aborts a running embed. Throws MiradorError.
     */
    async embed(model: string, texts: string[], options: { signal?: AbortSignal } = {}): Promise<number[][]> {
      const controller = new AbortController()
      const outer = options.signal
      const follow = () => controller.abort(outer?.reason)
      if (outer?.aborted) controller.abort(outer.reason)
      else outer?.addEventListener('abort', follow, { once: true })
      active.add(controller)
      try {
        return await embedTexts(model, texts, { threads, contextSize, owner }, controller.signal)
      } finally {
        outer?.removeEventListener('abort', follow)
        active.delete(controller)
      }
    },

    /** The GGUF models loaded in this process (by absolute path) with their sizes, adapters included. */
    async listLoaded(): Promise<LoadedModelInfo[]> {
      return loadedModels()
    },

    /**
     * Aborts running generations, waits for the clean-up of aborted streams that have ended, and
     * releases this runtime's hold on its models (a model is disposed, with any context still on
     * it, when no runtime instance holds it). The runtime stays usable: a later generate reloads.
     */
    async dispose(): Promise<void> {
      for (const c of active) c.abort(new MiradorError('ABORTED', 'the llama.cpp runtime was disposed'))
      await Promise.all([...cleanups])
      await releaseModels(owner)
    },
  }
}

/** `p`, or an ABORTED MiradorError as soon as `signal` aborts (the work itself goes on, shared). */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal | undefined, name: string): Promise<T> {
  if (!signal) return p
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new MiradorError('ABORTED', `preparing model ${name} was cancelled`))
    if (signal.aborted) return onAbort()
    signal.addEventListener('abort', onAbort, { once: true })
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
  })
}
