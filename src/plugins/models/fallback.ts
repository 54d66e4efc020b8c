/**
 * A model's `fallback:` (models/manifest.yaml): when the model's runtime does not answer (Ollama not
 * running, RUNTIME_UNREACHABLE while making the model ready), the stage runs on the named entry
 * instead: the shipped `quick` and `deep` fall back to `default`, the embedded llama.cpp model
 * `mirador models pull default` downloads. Only that failure switches: a model Ollama lacks, a
 * timeout or a server error are the user's to see. Nothing here runs while the runtime answers.
 *
 * The switch is said once per run (a `model-fallback` event); a fallback that is not downloaded is
 * an error naming the command that downloads it, and is remembered, so a terminal can offer the
 * download when the run is over (src/cli/offer-pull.ts).
 */
import { MiradorError } from '../../engine/errors.js'
import { networkReason } from '../../lib/network-code.js'
import { pullCommand } from './pull.js'
import { sizeText, type ResolvedModel } from './resolve.js'

/** runs whose switch was announced; a long-lived process (serve, chat) forgets old ones */
const MAX_TOLD = 256

/** Whether `err` says the model's runtime is not answering at all: the one case a fallback is for. */
export function runtimeDown(err: unknown): err is MiradorError {
  return MiradorError.is(err, 'RUNTIME_UNREACHABLE')
}

/** "Ollama is not answering at http://127.0.0.1:11434 (connection refused)" */
function downText(r: ResolvedModel, err: MiradorError): string {
  const host = typeof err.details?.host === 'string' ? ` at ${err.details.host}` : ''
  const code = typeof err.details?.code === 'string' ? err.details.code : undefined
  const reason = networkReason(code) ?? code
  const runtime = r.runtime === 'ollama' ? 'Ollama' : `The ${r.runtime} runtime`
  return `${runtime} is not answering${host}${reason ? ` (${reason})` : ''}`
}

export function fallbackMessage(r: ResolvedModel, to: ResolvedModel, err: MiradorError): string {
  return `${downText(r, err)}; using the embedded model "${to.name}" (${to.display}) instead of ${r.name}.`
}

/** The fallback is named but its file is not here: what to run, and the other way out. */
export function fallbackMissingError(r: ResolvedModel, to: ResolvedModel, err: MiradorError): MiradorError {
  const size = to.source?.size_bytes ? ` (${sizeText(to.source.size_bytes)})` : ''
  const get = to.source
    ? `Download it${size} with \`${pullCommand(to.name)}\``
    : `Put its GGUF file at ${to.localFile?.path ?? 'its base'}`
  const start = r.runtime === 'ollama' ? ', or start Ollama (`ollama serve`)' : ''
  return new MiradorError(
    'RUNTIME_UNREACHABLE',
    `${downText(r, err)}, and the embedded model "${to.name}" that stands in for it is not downloaded. ` +
      `${get}${start}.`,
    { cause: err, details: { ...err.details, fallback: to.name, ...(to.source ? { pull: to.name } : {}) } },
  )
}

/** Which runs were told of a switch already. */
export class FallbackNotices {
  readonly #told = new Set<string>()

  /** true the first time for a run */
  first(runId: string): boolean {
    if (this.#told.has(runId)) return false
    if (this.#told.size >= MAX_TOLD) this.#told.clear()
    this.#told.add(runId)
    return true
  }
}
