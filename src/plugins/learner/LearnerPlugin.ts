/**
 * The pattern learner: every run is recorded with its query type; every rating (`mirador rate`)
 * goes to an append-only journal and moves the chain's weight for that type, written back into
 * the chain file where the user can read, edit and version it; `mirador ask` (`chain run auto`)
 * routes a query to the chain most likely to satisfy this user, by Thompson sampling over the
 * weights. With memory off no run is recorded: a rating needs a recorded run.
 */
import type { ChainFile } from '../../engine/config/index.js'
import type { PluginHost } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import { builtinOptionsSchema, validatePluginOptions } from '../../engine/plugin-options.js'
import type {
  ChainDef,
  ForgetRequest,
  Rating,
  RouteAnswer,
  RouteRequest,
  RunContext,
  RunResult,
} from '../../engine/types.js'
import { createHashingEmbedder } from '../../lib/embedder.js'
import { choose, seededRandom } from './bandit.js'
import type { LearnerOptions } from './options.gen.js'
import { classify } from './classify.js'
import { Journal, rebuildWeights, updateWeight } from './journal.js'
import { updateChainWeight } from './rewrite.js'
import type { JournalEntry } from './types.js'

const PLUGIN_NAME = 'LearnerPlugin'
/**
 * Thompson sampling tempered to a quarter of its spread: on the simulated user (bench), about 75 %
 * of queries go to the best chain after 50 ratings (plain Thompson: 62 %), and 91 % after 150; less
 * exploration wins a few points in the first week and loses them later, or when tastes change.
 */
const DEFAULT_EXPLORE = 0.25

export type { LearnerOptions } from './options.gen.js'

/** A chain the learner can route to (the engine's chain catalog). */
export type ChainChoice = ChainDef

export interface RouteResult {
  chain: ChainChoice
  type: string
  via: string
  reason: string
  candidates: { chain: string; weight: number; count: number; sample?: number }[]
}

export interface RateResult {
  runId: string
  chain: string
  type: string
  rating: number
  file?: string
  before?: number
  after?: number
  skipped?: string
}

export class LearnerPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly options: LearnerOptions
  #engine?: PluginHost
  readonly #lastRate = new Map<string, RateResult>()

  constructor(options: LearnerOptions = {}) {
    this.options = validatePluginOptions<LearnerOptions>(PLUGIN_NAME, builtinOptionsSchema('learner'), options)
  }

  apply(engine: PluginHost): void {
    this.#engine = engine
    engine.hooks.route.tapPromise(PLUGIN_NAME, (request, ctx) => this.#route(request, ctx))
    engine.hooks.runDone.tapPromise(PLUGIN_NAME, (r) => this.#record(r))
    engine.hooks.feedback.tapPromise(PLUGIN_NAME, async (rating) => void (await this.rate(rating)))
    engine.hooks.forget.tapPromise(PLUGIN_NAME, (req) => this.#forget(req))
  }

  #host(): PluginHost {
    if (!this.#engine) throw new MiradorError('INTERNAL', `${PLUGIN_NAME} used before apply()`)
    return this.#engine
  }

  /** the chains that can be routed to (the engine's catalog) */
  chains(): Promise<ChainChoice[]> {
    return this.#host().chains()
  }

  /** `chain: auto`: picks the chain and says why in a `route` event. */
  async #route(request: RouteRequest, ctx: RunContext): Promise<RouteAnswer> {
    const route = await this.route(request.query, undefined, request.cost)
    ctx.emit({
      type: 'route',
      chain: route.chain.name,
      queryType: route.type,
      via: route.via,
      reason: route.reason,
      candidates: route.candidates,
      // `--explain`: renderers show the candidates and the draws, not only the choice
      explain: this.#host().settings.flags.explain === true,
    })
    return { chain: route.chain, queryType: route.type }
  }

  journal(): Journal {
    return new Journal(this.#host().settings.home)
  }

  get priorStrength(): number {
    return this.options.prior_strength ?? 2
  }

  /** The query's type: keyword rules, chain triggers, then the nearest rated queries. */
  async classify(
    query: string,
    journal?: JournalEntry[],
  ): Promise<{ type: string; via: string; detail: string; triggered: string[] }> {
    const entries = journal ?? (await this.journal().read())
    const rated = new Set(entries.filter((e) => e.kind === 'rating').map((e) => e.runId))
    const ratedQueries = entries.flatMap((e) =>
      e.kind === 'run' && e.query && rated.has(e.runId) ? [{ query: e.query, type: e.type }] : [],
    )
    const chains = (await this.chains()).map((c) => ({
      name: c.name,
      ...(c.value.triggers ? { triggers: c.value.triggers } : {}),
    }))
    return classify(query, {
      chains,
      ...(this.options.rules ? { rules: this.options.rules } : {}),
      rated: ratedQueries,
      embedder: createHashingEmbedder(),
    })
  }

  /** Picks the chain for a query (`mirador ask`), and why. */
  /**
   * Picks the chain for a query (`mirador ask`), and why. With `costOf` (an energy profile that
   * wants quality per joule), each candidate's draw is divided by the joules it would use.
   */
  async route(query: string, seed?: number, costOf?: (chain: ChainFile) => Promise<number>): Promise<RouteResult> {
    const [chains, entries] = await Promise.all([this.chains(), this.journal().read()])
    const { type, via, detail, triggered: byTrigger } = await this.classify(query, entries)
    if (chains.length === 0)
      throw new MiradorError('CONFIG_NOT_FOUND', 'there is no chain to choose from: add one to ./chains')
    const learned = rebuildWeights(entries, (chain, t) => chains.find((c) => c.name === chain)?.value.weights?.[t])
    const withWeight = chains.filter((c) => c.value.weights?.[type] !== undefined || learned[c.name]?.[type])
    const triggered = chains.filter((c) => byTrigger.includes(c.name))
    const pool = [...new Map([...withWeight, ...triggered].map((c) => [c.name, c])).values()]
    const candidates = (pool.length ? pool : chains).map((c) => {
      const state = learned[c.name]?.[type]
      return { chain: c.name, weight: c.value.weights?.[type] ?? state?.weight ?? 0.5, count: state?.count ?? 0 }
    })
    const picked = choose(candidates, {
      rng: seededRandom(seed ?? Date.now()),
      explore: this.options.explore ?? DEFAULT_EXPLORE,
      priorStrength: this.priorStrength,
      type,
    })
    if (costOf) {
      // the same draws, each divided by the chain's estimated joules
      const perJoule = await Promise.all(
        picked.samples.map(async (s) => ({ s, joules: await costOf(chains.find((c) => c.name === s.chain)!.value) })),
      )
      const best = perJoule.reduce((a, b) =>
        b.s.sample / Math.max(1e-9, b.joules) > a.s.sample / Math.max(1e-9, a.joules) ? b : a,
      )
      picked.chain = best.s.chain
      picked.reason =
        `${best.s.chain}: the best expected rating per joule ` +
        `(drew ${best.s.sample.toFixed(3)} for about ${Math.round(best.joules)} J; ${
          perJoule
            .filter((x) => x !== best)
            .map((x) => `${x.s.chain} ${x.s.sample.toFixed(3)} for ${Math.round(x.joules)} J`)
            .join(', ') || 'no other candidate'
        })`
    }
    const chain = chains.find((c) => c.name === picked.chain)!
    return {
      chain,
      type,
      via,
      reason: `query type "${type}" (${detail}); ${picked.reason}`,
      candidates: picked.samples.map((s) => ({
        chain: s.chain,
        weight: candidates.find((c) => c.chain === s.chain)!.weight,
        count: candidates.find((c) => c.chain === s.chain)!.count,
        sample: s.sample,
      })),
    }
  }

  async #record(r: RunResult): Promise<void> {
    const settings = this.#host().settings
    // with memory off nothing of the run is kept, so it cannot be rated later either; a run that
    // never reached a stage has nothing to rate
    if (!settings.memory || !r.memory || r.stages.length === 0) return
    const type = r.queryType ?? (await this.classify(r.query)).type
    const file = r.file
    const entry: JournalEntry = {
      kind: 'run',
      runId: r.runId,
      chain: r.chain,
      ...(file ? { file } : {}),
      type,
      query: r.query,
      ...(r.session ? { session: r.session } : {}),
      at: Date.now(),
    }
    await this.journal().append(entry)
  }

  /** Records a rating and moves the chain's weight for the run's query type. */
  async rate(rating: Rating): Promise<RateResult> {
    if (!Number.isInteger(rating.rating) || rating.rating < 1 || rating.rating > 5)
      throw new MiradorError('USAGE', `a rating is a whole number from 1 to 5, not ${rating.rating}`)
    const journal = this.journal()
    const run = await journal.findRun(rating.runId)
    if (!run)
      throw new MiradorError(
        'USAGE',
        `no recorded run ${rating.runId}: runs are recorded when memory is on; see \`mirador rate --last\``,
      )
    const success = rating.rating >= 4
    await journal.append({
      kind: 'rating',
      runId: run.runId,
      chain: run.chain,
      type: run.type,
      rating: rating.rating,
      at: Date.now(),
    })
    const result: RateResult = {
      runId: run.runId,
      chain: run.chain,
      type: run.type,
      rating: rating.rating,
      ...(run.file ? { file: run.file } : {}),
    }
    if (!run.file) {
      result.skipped = `chain ${run.chain} has no file to write its weight to`
    } else {
      try {
        const home = this.#host().settings.home
        const n0 = this.priorStrength
        const w = await updateChainWeight(
          run.file,
          run.type,
          (current) => {
            // the journal's count of earlier ratings, read now, under the file's lock
            const entries = journal.readSync()
            const count =
              entries.filter((e) => e.kind === 'rating' && e.chain === run.chain && e.type === run.type).length - 1
            return updateWeight({ weight: current ?? 0.5, count: Math.max(0, count) }, success, n0).weight
          },
          { home, extraStageProperties: this.#host().stageKeys() },
        )
        result.before = w.before
        result.after = w.after
      } catch (err) {
        // a read-only or invalid chain file is reported and skipped, never corrupted
        result.skipped = MiradorError.from(err).format()
      }
    }
    this.#lastRate.set(rating.runId, result)
    return result
  }

  lastRateResult(runId: string): RateResult | undefined {
    return this.#lastRate.get(runId)
  }

  async #forget(req: ForgetRequest): Promise<void> {
    const journal = this.journal()
    const ids = new Set(req.runIds ?? [])
    const n = await journal.forget(
      (e) =>
        req.all === true ||
        ids.has(e.runId) ||
        (req.session !== undefined && e.session === req.session) ||
        (req.before !== undefined && e.at < req.before),
    )
    req.removed['learner records'] = (req.removed['learner records'] ?? 0) + n
  }
}
