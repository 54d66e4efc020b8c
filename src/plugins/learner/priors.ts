/**
 * Outside evidence for the router (the engine's `priors` hook: a community prior from federation,
 * or any plugin's). Asked once per route; what comes back is checked here, since a tap may be a
 * third-party plugin's: only finite pseudo-counts ≥ 0 for a candidate of this route are kept.
 */
import type { PluginHost } from '../../engine/engine.js'
import type { CandidatePrior } from './bandit.js'

export async function askPriors(
  host: PluginHost,
  queryType: string,
  candidates: readonly { chain: string; count: number }[],
  warn?: (message: string) => void,
): Promise<Map<string, CandidatePrior>> {
  const kept = new Map<string, CandidatePrior>()
  if (!host.hooks.priors.isUsed()) return kept
  const filled = await host.hooks.priors.promise({
    queryType,
    candidates: candidates.map((c) => ({ chain: c.chain, ratings: c.count })),
    priors: {},
  })
  for (const w of filled?.warnings ?? []) warn?.(String(w))
  for (const c of candidates) {
    const p = Object.prototype.hasOwnProperty.call(filled?.priors ?? {}, c.chain) ? filled.priors[c.chain] : undefined
    if (!p || !(p.alpha >= 0 && p.beta >= 0 && Number.isFinite(p.alpha + p.beta) && p.alpha + p.beta > 0)) continue
    const share = Number.isFinite(p.share) ? Math.min(1, Math.max(0, p.share)) : p.alpha / (p.alpha + p.beta)
    kept.set(c.chain, { alpha: p.alpha, beta: p.beta, share, source: String(p.source ?? 'outside evidence') })
  }
  return kept
}
