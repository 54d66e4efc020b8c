/**
 * The embedded llama.cpp runtime: GGUF models run in-process through node-llama-cpp (CPU only).
 *
 * - `req.model` is the path of a GGUF file (resolved by the caller). node-llama-cpp is imported on
 *   the first generate/status; the binding (`getLlama`, about 0.3–0.5 s) and each model file are
 *   loaded once per process and shared by every runtime instance (load.ts).
 * - Raw completion, no chat template yet: the model sees `system + "\n\n" + prompt` (or the
 *   prompt), after its BOS token (generate.ts).
 * - Options: max_tokens (default 256), temperature (0 = greedy), top_k, top_p, seed, stop, num_ctx.
 *   Left-out sampling options take Ollama's defaults (temperature 0.8, top_k 40, top_p 0.9) so a
 *   chain behaves alike on both runtimes. No repeat penalty is applied; keepAlive is ignored
 *   (models stay loaded until dispose()).
 * - Log-probabilities are computed only when the request asks (`logprobs: true`), like Ollama.
 * - Each generation has its own context: concurrent generations on one model are independent, at
 *   the price of one KV cache per running generation (generate.ts).
 * - Abort (req.signal) ends the stream with `finish` reason 'abort'; failures are `error` parts.
 * - node-llama-cpp's "bad special token" load warnings are dropped; other llama.cpp warnings and
 *   errors are still printed.
 */
import { MiradorError } from '../../engine/errors.js'
import type { GenerateRequest, Runtime, RuntimeStatus, StreamPart } from '../../engine/runtime.js'
import { generate, defaultThreads } from './generate.js'
import { getLlamaOnce, releaseModels, message } from './load.js'

export { llamaCppStats } from './load.js'
export { DEFAULT_MAX_TOKENS, DEFAULT_SAMPLING } from './generate.js'

export interface LlamaCppSettings {
  /**
   * CPU threads per generation. Default: the machine's math cores minus one, at least 1 — so 1 on
   * a 2-core machine, which leaves a core to Node and measured fastest for small models there
   * (node-llama-cpp's own default, 4 on 2 cores, oversubscribes and is orders of magnitude slower).
   */
  threads?: number
  /** Context window in tokens. Default 2048; a request's `num_ctx` overrides it; clamped to the model's trained context. */
  contextSize?: number
  /** GPU offload is not supported yet: only `false` (the default) is accepted. */
  gpu?: false
}

export const DEFAULT_CONTEXT_SIZE = 2048
export const RUNTIME_NAME = 'llamacpp'

export function createLlamaCpp(settings: LlamaCppSettings = {}): Runtime {
  const { threads, contextSize = DEFAULT_CONTEXT_SIZE, gpu = false } = settings
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1))
    throw new MiradorError('USAGE', `llama.cpp threads must be a whole number of at least 1, not ${threads}`)
  if (!(Number.isInteger(contextSize) && contextSize >= 1))
    throw new MiradorError('USAGE', `llama.cpp contextSize must be a whole number of tokens, not ${contextSize}`)
  if (gpu !== false) throw new MiradorError('USAGE', 'the llama.cpp runtime runs on the CPU only: set gpu to false or leave it out')

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
        { threads, contextSize, owner, onBackgroundCleanup },
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
            `${threads ?? defaultThreads(llama.cpuMathCores)} thread(s) per generation of ${llama.cpuMathCores} math cores; ` +
            llama.systemInfo.trim(),
        }
      } catch (err) {
        return { runtime: RUNTIME_NAME, ok: false, where, detail: message(err) }
      }
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
