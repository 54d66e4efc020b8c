/**
 * Federation in a run (docs/federation.md): built in and on in every home; outside a group it has
 * no prior.json, so routing finds nothing to add.
 *
 * - `priors` tap: the group's community prior (prior.ts) for the router's candidates. prior.json
 *   and the group file are read on the first call only, and a problem with them is one warning,
 *   once; routing then goes on without the prior.
 * - `forget` tap: forgetting everything (`memory forget --all`) removes federation's local state
 *   too (membership, budget ledger, prior, round secrets, exchange clones, member keys); the
 *   exchange and the group file are shared and stay.
 */
import type { PluginHost } from '../../engine/engine.js'
import { builtinOptionsSchema, validatePluginOptions } from '../../engine/plugin-options.js'
import type { ForgetRequest, RoutePriors } from '../../engine/types.js'
import { AppliedTo } from '../../lib/applied-to.js'
import type { FederationOptions } from './options.gen.js'
import { removeLocalState } from './paths.js'
import { DEFAULT_PRIOR_WEIGHT, loadPrior, priorFor, priorSource, type LoadedPrior } from './prior.js'

export const PLUGIN_NAME = 'FederationPlugin'

export type { FederationOptions } from './options.gen.js'

export class FederationPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly options: FederationOptions
  readonly #applied = new AppliedTo(PLUGIN_NAME)
  #prior?: Promise<LoadedPrior>
  #warned = false

  constructor(options: FederationOptions = {}) {
    this.options = validatePluginOptions<FederationOptions>(PLUGIN_NAME, builtinOptionsSchema('federation'), options)
  }

  apply(engine: PluginHost): void {
    this.#applied.set(engine)
    engine.hooks.priors.tapPromise(PLUGIN_NAME, (request) => this.#priors(request))
    engine.hooks.forget.tapPromise(PLUGIN_NAME, (req) => this.#forget(req))
  }

  /** how many ratings a fully reliable prior counts for (`prior_weight`, default 10) */
  get priorWeight(): number {
    return this.options.prior_weight ?? DEFAULT_PRIOR_WEIGHT
  }

  /** prior.json checked against the group file, read once */
  prior(): Promise<LoadedPrior> {
    this.#prior ??= loadPrior(this.#applied.host.settings.home)
    return this.#prior
  }

  async #priors(request: RoutePriors): Promise<RoutePriors> {
    const { file, warning } = await this.prior()
    if (warning && !this.#warned) {
      this.#warned = true
      request.warnings = [...(request.warnings ?? []), `federation: ${warning}`]
    }
    if (!file) return request
    for (const c of request.candidates) {
      const p = priorFor(file, request.queryType, c.chain, c.ratings, this.priorWeight)
      if (p && p.alpha + p.beta > 0)
        request.priors[c.chain] = {
          alpha: p.alpha,
          beta: p.beta,
          share: p.share,
          source: priorSource(file),
        }
    }
    return request
  }

  async #forget(req: ForgetRequest): Promise<void> {
    if (!req.all) return
    if (await removeLocalState(this.#applied.host.settings.home))
      req.removed['federation memberships'] = (req.removed['federation memberships'] ?? 0) + 1
  }
}
