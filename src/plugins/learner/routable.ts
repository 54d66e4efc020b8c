/**
 * The chains `mirador ask` may pick: not those whose file says `route: false` (run only when
 * named), and not those with a stage whose model cannot run here, as the models plugin's
 * `models.available` capability says (models/availability.ts: the name resolves, the runtime is
 * there, a GGUF file exists; no network). Without that capability (the models plugin turned off)
 * every chain counts as available. Each model is asked about once per call.
 */
import type { PluginHost } from '../../engine/engine.js'
import type { ChainDef } from '../../engine/types.js'

export const AVAILABLE_CAPABILITY = 'models.available'

export interface Skipped {
  chain: string
  reason: string
}

/** The chains whose file does not say `route: false`. */
export function declaredRoutable(chains: readonly ChainDef[]): ChainDef[] {
  return chains.filter((c) => c.value.route !== false)
}

/** Of `chains` (already routable by declaration), those whose models can run here, and why the others cannot. */
export async function availableChains(
  host: PluginHost,
  chains: readonly ChainDef[],
): Promise<{ available: ChainDef[]; skipped: Skipped[] }> {
  const ask = host.capability(AVAILABLE_CAPABILITY)
  if (!ask) return { available: [...chains], skipped: [] }
  const answers = new Map<string, Promise<string | undefined>>()
  const reasonFor = (model: string) => {
    let p = answers.get(model)
    if (!p) {
      p = ask({ model }).then(
        (a) => {
          const r = a as { available?: unknown; reason?: unknown } | null
          return r?.available === false ? String(r.reason ?? `model ${model} cannot run here`) : undefined
        },
        () => undefined, // a capability that fails says nothing: the run will tell
      )
      answers.set(model, p)
    }
    return p
  }
  const checked = await Promise.all(
    chains.map(async (c) => {
      const models = [...new Set(Object.values(c.value.stages).map((s) => s.model))]
      const reasons = await Promise.all(models.map(reasonFor))
      const reason = reasons.find((r) => r !== undefined)
      return { chain: c, reason }
    }),
  )
  return {
    available: checked.filter((c) => c.reason === undefined).map((c) => c.chain),
    skipped: checked.flatMap((c) => (c.reason === undefined ? [] : [{ chain: c.chain.name, reason: c.reason }])),
  }
}
