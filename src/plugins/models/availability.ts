/**
 * Whether a model can run on this machine, decided without the network: the `models.available`
 * capability, which the learner asks before it routes a query to a chain. A model is available
 * when its name resolves (manifest entry, or an Ollama tag), a plugin provides its runtime, and
 * for llama.cpp its GGUF file is there (its `${VAR}` set). An Ollama model that is simply not
 * pulled yet counts as available: the run pulls it, and asking the server would cost a round trip
 * per model on every `ask`.
 */
import { MiradorError } from '../../engine/errors.js'
import { missingLocalFile, type ResolvedModel } from './resolve.js'

export const AVAILABLE_CAPABILITY = 'models.available'

export interface Availability {
  available: boolean
  /** why not, in one line */
  reason?: string
}

export async function availability(
  resolve: () => Promise<ResolvedModel>,
  hasRuntime: (name: string) => boolean,
): Promise<Availability> {
  let r: ResolvedModel
  try {
    r = await resolve()
  } catch (err) {
    return { available: false, reason: MiradorError.from(err).message }
  }
  if (!hasRuntime(r.runtime))
    return { available: false, reason: `no plugin provides the runtime "${r.runtime}" of model ${r.name}` }
  const missing = missingLocalFile(r)
  return missing ? { available: false, reason: missing.message } : { available: true }
}
