/**
 * A stage's model that the manifest lacks is used as an Ollama tag, and pulled if Ollama lacks it.
 * When the name is a typo away from a manifest entry ("deeep" for "deep") it is most likely that
 * entry misspelt, and a pull would fetch the wrong thing or fail after a wait. Mirador says so, with
 * "did you mean": `chain validate` as a warning, and a run as an `error` event before the pull (the
 * run goes on: the name may be a tag the user means). A tag Ollama already has is not a typo.
 */
import { didYouMean, locate, type ChainFile, type Loaded, type ManifestFile } from '../../engine/config/index.js'
import { MiradorError } from '../../engine/errors.js'
import type { Runtime } from '../../engine/runtime.js'

/** The manifest entry `name` is probably a typo of, when the manifest lacks `name`. */
export function nearManifestName(manifest: Loaded<ManifestFile> | undefined, name: string): string | undefined {
  const names = Object.keys(manifest?.value.models ?? {})
  return names.includes(name) ? undefined : didYouMean(name, names)
}

/** A tag as Ollama lists it: `llama3.2` is `llama3.2:latest`. */
export function sameTag(listed: string, tag: string): boolean {
  return listed === tag || listed === `${tag}:latest`
}

export function nearMissWarning(name: string, guess: string, location?: MiradorError['location']): MiradorError {
  return new MiradorError(
    'MODEL_UNRESOLVED',
    `model "${name}" is not in the manifest (models/manifest.yaml), so it is used as an Ollama tag and pulled ` +
      `if Ollama lacks it. Did you mean "${guess}"?`,
    { ...(location ? { location } : {}), details: { model: name, suggestion: guess } },
  )
}

/** `chain validate`: the stages whose model looks like a misspelt manifest entry, with positions. */
export function chainModelWarnings(
  chain: Loaded<ChainFile>,
  manifest: Loaded<ManifestFile> | undefined,
): MiradorError[] {
  const out: MiradorError[] = []
  for (const [stage, spec] of Object.entries(chain.value.stages ?? {})) {
    const guess = nearManifestName(manifest, spec.model)
    if (guess)
      out.push(nearMissWarning(spec.model, guess, locate(chain as Loaded<unknown>, ['stages', stage, 'model'])))
  }
  return out
}

/** Before a load: the warning for a near-miss name that the runtime does not have (so would pull). */
export async function nearMissBeforePull(
  name: string,
  guess: string | undefined,
  runtime: Runtime,
): Promise<MiradorError | undefined> {
  if (!guess) return undefined
  const status = await runtime.status().catch(() => undefined)
  if (status?.models?.some((m) => sameTag(m, name))) return undefined
  return nearMissWarning(name, guess)
}
