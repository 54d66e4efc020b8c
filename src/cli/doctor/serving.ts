/**
 * `mirador doctor`'s answer to "what will my chains run on?": Ollama when it answers; else the
 * embedded model the manifest's entries fall back to (`fallback:`), when it is downloaded; else
 * neither, and what to do. Uses the runtime statuses doctor asks for anyway: no request of its own.
 */
import type { RuntimeStatus } from '../../engine/runtime.js'
import type { ModelsPlugin } from '../../plugins/models/index.js'
import { pullCommand } from '../../plugins/models/pull.js'
import { missingLocalFile, type ResolvedModel } from '../../plugins/models/resolve.js'

export interface ServingReport {
  ok: boolean
  /** what the shipped chains' models run on here */
  path: 'ollama' | 'embedded' | 'none'
  detail: string
  /** the Ollama server the entries with a fallback use */
  ollama?: string
  /** the entry they fall back to, and its file */
  fallback?: { name: string; file: string; present: boolean }
}

export async function checkServing(
  models: ModelsPlugin | undefined,
  ollamaStatus: (settings: Record<string, unknown>) => Promise<RuntimeStatus>,
): Promise<ServingReport> {
  const entries = (await models?.entries()) ?? []
  const resolved = entries.flatMap((e) => (e.resolved ? [e.resolved] : []))
  const falling = resolved.filter((r) => r.runtime === 'ollama' && r.fallback !== undefined)
  const status = await ollamaStatus(falling[0]?.settings ?? {})
  const where = status.where
  const target = falling[0] ? resolved.find((r) => r.name === falling[0]!.fallback) : undefined
  const fallback = target && fallbackOf(target)
  const base = { ollama: where, ...(fallback ? { fallback } : {}) }
  if (status.ok) {
    const spare = !fallback
      ? ''
      : fallback.present
        ? ` (the embedded model "${fallback.name}" is downloaded, for when it does not)`
        : ` (\`${pullCommand(fallback.name)}\` downloads an embedded model for when it does not)`
    return { ok: true, path: 'ollama', detail: `Ollama at ${where} answers: chains run on it${spare}`, ...base }
  }
  if (fallback?.present) {
    const names = falling.filter((r) => r.fallback === fallback.name).map((r) => r.name)
    return {
      ok: true,
      path: 'embedded',
      detail:
        `Ollama is not answering at ${where}: ${names.join(', ')} run on the embedded model ` +
        `"${fallback.name}" at ${fallback.file}`,
      ...base,
    }
  }
  const todo = fallback
    ? `the embedded model "${fallback.name}" is not downloaded: run \`${pullCommand(fallback.name)}\`, or start Ollama`
    : 'no manifest entry falls back to an embedded model: start Ollama (`ollama serve`), or point OLLAMA_HOST at one'
  return { ok: false, path: 'none', detail: `neither: Ollama is not answering at ${where}, and ${todo}`, ...base }
}

function fallbackOf(r: ResolvedModel): ServingReport['fallback'] {
  return { name: r.name, file: r.localFile?.path ?? r.spec.base, present: !missingLocalFile(r) }
}
