/**
 * The Ollama runtime: streams chat completions from an Ollama server through the `ollama` npm
 * client (imported on first use, so the CLI starts fast).
 *
 * `generate` never throws; every failure is one `error` part, then the stream ends:
 * - RUNTIME_UNREACHABLE  no connection (refused, unknown host, reset before any data)
 * - RUNTIME_TIMEOUT      no first token within `firstTokenTimeoutMs`, or silence for `idleTimeoutMs`
 * - RUNTIME_FAILED       the connection dropped mid-stream, an HTTP 5xx/4xx, an error line
 * - RUNTIME_PROTOCOL     a line that is not JSON, a stream without its final `done` line, a 404
 *                        that is not Ollama's "model not found"
 * - MODEL_MISSING        the model is absent and may not be pulled (`offline`, `pull: false`), or
 *                        the registry does not have it
 * A missing model (404 before any token) is pulled with streamed `progress` parts, then the
 * generation is tried once more. Aborting through `request.signal` ends the stream with a `finish`
 * part whose reason is 'abort' (and the request to Ollama is aborted, only that one).
 *
 * For the model manager: `prepare` (pull if absent, create a model with a LoRA adapter, load it;
 * see prepare.ts), `unload` (keep_alive 0) and `listLoaded` (`/api/ps`). These throw MiradorError.
 *
 * For memory: `embed` (`/api/embed`, one batch request; never pulls: a missing model is
 * MODEL_MISSING naming `ollama pull`; see embed.ts). It throws MiradorError.
 */
import { MiradorError } from '../../engine/errors.js'
import type {
  GenerateRequest,
  LoadedModelInfo,
  ModelSpec,
  PreparedModel,
  Runtime,
  RuntimeStatus,
  StreamPart,
} from '../../engine/runtime.js'
import { badHostError, callOllama, type OllamaClient } from './call.js'
import { chatOnce, type ChatEnv } from './chat.js'
import { embedTexts } from './embed.js'
import { pullRefusedError } from './errors.js'
import type { RequestGuard } from './guard.js'
import { displayHost, normalizeHost } from './host.js'
import { preparedName, prepareModel, type PrepareEnv, type PrepareOptions } from './prepare.js'
import { pullModel } from './pull.js'

export { normalizeHost, DEFAULT_HOST } from './host.js'
export { derivedModelName, entrySlug } from './adapters.js'

export interface OllamaSettings {
  /**
   * server URL, normalised like the client does; default http://127.0.0.1:11434. Mirador gives the one
   * its settings resolve (a model's host, --host, OLLAMA_HOST, config: src/cli/setup.ts reads them)
   */
  host?: string
  /**
   * no chunk this long after sending a generation → RUNTIME_TIMEOUT (default 120000); also the
   * bound on loading a model in prepare()
   */
  firstTokenTimeoutMs?: number
  /**
   * no chunk this long during a generation or pull, nor progress this long while prepare()
   * uploads an adapter or creates a model → RUNTIME_TIMEOUT (default 60000)
   */
  idleTimeoutMs?: number
  /**
   * bound on status(), listLoaded(), unload() and prepare()'s one-shot calls (show, blob checks,
   * ps) (default 2000)
   */
  statusTimeoutMs?: number
  /** pull a model Ollama does not have (default true) */
  pull?: boolean
  /** never pull (the CLI's --offline) */
  offline?: boolean
  /** the fetch the client uses (tests, proxies); default the global fetch */
  fetch?: typeof fetch
}

export interface OllamaRuntime extends Runtime {
  readonly name: 'ollama'
  /** the normalised server URL */
  readonly host: string
  /**
   * Makes a model ready (pull, create with an adapter, load); see prepare.ts. Throws MiradorError:
   * MODEL_MISSING, USAGE (an adapter scale other than 0 or 1, several adapters), RUNTIME_*, ABORTED.
   */
  prepare(spec: ModelSpec, options?: PrepareOptions): Promise<PreparedModel>
  /**
   * Models in memory now (`/api/ps`): name, size in bytes (Ollama's `size`, RAM and VRAM
   * together), and when Ollama will unload it. Throws MiradorError.
   */
  listLoaded(): Promise<LoadedModelInfo[]>
  /** asks Ollama to unload a model now (keep_alive 0); throws MiradorError */
  unload(model: string): Promise<void>
  /**
   * Embeds texts with an embedding model (`/api/embed`), one vector per text, as Ollama sends them
   * (unit length). Never pulls. Throws MiradorError; see embed.ts.
   */
  embed(model: string, texts: string[], options?: { signal?: AbortSignal }): Promise<number[][]>
  /** pulls a model, as progress parts (never throws; ends with an error or abort part on failure) */
  pull(model: string, options?: { signal?: AbortSignal }): AsyncIterable<StreamPart>
}

export function createOllama(settings: OllamaSettings = {}): OllamaRuntime {
  let host: string
  let hostError: string | undefined
  try {
    host = normalizeHost(settings.host)
  } catch {
    host = String(settings.host)
    hostError = `"${host}" is not a valid URL`
  }
  const active = new Set<RequestGuard>()
  const statusTimeoutMs = settings.statusTimeoutMs ?? 2_000
  const penv: PrepareEnv = {
    host,
    hostError,
    fetch: settings.fetch,
    firstTokenTimeoutMs: settings.firstTokenTimeoutMs ?? 120_000,
    idleTimeoutMs: settings.idleTimeoutMs ?? 60_000,
    statusTimeoutMs,
    offline: settings.offline === true,
    pull: settings.pull !== false,
    active,
  }
  const env: ChatEnv = penv
  const badHost = (model: string): MiradorError => badHostError(penv, model)

  /** a one-shot API call, bounded by statusTimeoutMs */
  const call = <T>(model: string, run: (client: OllamaClient) => Promise<T>): Promise<T> => callOllama(penv, model, run)

  async function* generate(req: GenerateRequest): AsyncGenerator<StreamPart> {
    try {
      if (req.signal?.aborted) {
        yield { type: 'finish', reason: 'abort', usage: { completionTokens: 0 } }
        return
      }
      if (hostError) {
        yield { type: 'error', error: badHost(req.model) }
        return
      }
      const first = yield* chatOnce(env, req)
      if (first !== 'missing') return
      const h = displayHost(host)
      if (settings.offline || settings.pull === false) {
        yield { type: 'error', error: pullRefusedError(host, req.model, settings.offline === true) }
        return
      }
      const pulled = yield* pullModel(env, req.model, req.signal)
      if (!pulled) return
      const second = yield* chatOnce(env, req)
      if (second === 'missing') {
        yield {
          type: 'error',
          error: new MiradorError(
            'MODEL_MISSING',
            `Ollama at ${h} pulled ${req.model} but still reports it missing; check \`ollama list\` on that server.`,
            { details: { host, model: req.model } },
          ),
        }
      }
    } catch (err) {
      // a bug, not a server failure: still an error part, never a throw
      yield { type: 'error', error: MiradorError.from(err, 'INTERNAL', 'Ollama runtime') }
    }
  }

  return {
    name: 'ollama',
    host,

    generate,

    async status(): Promise<RuntimeStatus> {
      const where = displayHost(host)
      try {
        const [version, tags] = await call('', (c) => Promise.all([c.version(), c.list()]))
        const models = (tags.models ?? []).map((m) => m.name)
        const sizes = Object.fromEntries(
          (tags.models ?? []).flatMap((m) => (typeof m.size === 'number' ? [[m.name, m.size]] : [])),
        )
        return {
          runtime: 'ollama',
          ok: true,
          where,
          detail: `Ollama ${version.version} with ${models.length} model${models.length === 1 ? '' : 's'}`,
          models,
          sizes,
        }
      } catch (err) {
        const e = MiradorError.from(err, 'RUNTIME_FAILED')
        const detail =
          e.code === 'RUNTIME_TIMEOUT'
            ? `Ollama at ${where} did not answer within ${statusTimeoutMs / 1000} s. ` +
              'Check that it is running and not overloaded.'
            : e.message
        return { runtime: 'ollama', ok: false, where, detail }
      }
    },

    prepare(spec: ModelSpec, options: PrepareOptions = {}): Promise<PreparedModel> {
      return prepareModel(penv, spec, options)
    },

    preparedName(spec: ModelSpec): Promise<string> {
      return preparedName(spec)
    },

    async listLoaded(): Promise<LoadedModelInfo[]> {
      const res = await call('', (c) => c.ps())
      return (res.models ?? []).map((m) => {
        const out: LoadedModelInfo = { model: m.name || m.model, sizeBytes: typeof m.size === 'number' ? m.size : 0 }
        const exp = m.expires_at ? new Date(m.expires_at) : undefined
        if (exp && !Number.isNaN(exp.getTime())) out.expiresAt = exp
        return out
      })
    },

    async unload(model: string): Promise<void> {
      await call(model, (c) => c.generate({ model, prompt: '', keep_alive: 0, stream: false }))
    },

    embed(model: string, texts: string[], options: { signal?: AbortSignal } = {}): Promise<number[][]> {
      return embedTexts(penv, model, texts, options)
    },

    pull(model: string, options: { signal?: AbortSignal } = {}): AsyncIterable<StreamPart> {
      return (async function* () {
        if (hostError) {
          yield { type: 'error', error: badHost(model) } satisfies StreamPart
          return
        }
        yield* pullModel(env, model, options.signal)
      })()
    },

    async dispose(): Promise<void> {
      for (const g of active) g.stop('dispose')
      active.clear()
    },
  }
}
