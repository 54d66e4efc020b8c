/**
 * The pattern learner: every run is recorded with its query type; every rating (`mirador rate`)
 * goes to an append-only journal and moves the chain's weight for that type, written back into
 * the chain file where the user can read, edit and version it; `mirador ask` (`chain run auto`)
 * routes a query to the chain most likely to satisfy this user, by Thompson sampling over the
 * weights, among the chains that can run here (routable.ts). With memory off no run is recorded: a
 * rating needs a recorded run. The journal keeps no text (journal.ts): a run's record holds its
 * chain, its type, the query's embedding (memory's embedder, embedding.ts) and a keyed hash of its
 * session, sealed with the memory key.
 */
import type { ChainFile } from '../../engine/config/index.js'
import type { PluginHost } from '../../engine/engine.js'
import { AppliedTo } from '../../lib/applied-to.js'
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
import { loadCipher, type MemoryCipher } from '../../lib/crypto.js'
import type { Embedder } from '../../lib/embedder.js'
import { sessionHash } from '../../lib/session-hash.js'
import { rollback, type RatingRef } from './backups.js'
import { choose, seededRandom, type Candidate, type CandidatePrior } from './bandit.js'
import type { LearnerOptions } from './options.gen.js'
import { classify, queryVector, type RatedQuery } from './classify.js'
import { learnerEmbedder } from './embedding.js'
import { askPriors } from './priors.js'
import {
  Journal,
  lastRating,
  ratingContext,
  rebuildWeights,
  replaceRating,
  updateWeight,
  type RunEntry,
} from './journal.js'
import { updateChainWeight } from './rewrite.js'
import { availableChains, declaredRoutable, type Skipped } from './routable.js'
import type { JournalEntry, StoredVector } from './types.js'
import { weightsFile } from './user-copy.js'

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
  candidates: { chain: string; weight: number; count: number; sample?: number; prior?: CandidatePrior }[]
  /** chains left out, and why (`route: false`, a model that cannot run here) */
  skipped: Skipped[]
}

export interface RateResult {
  runId: string
  chain: string
  type: string
  rating: number
  file?: string
  /** the weight went to the user's new copy of a shipped chain (`file`) */
  copied?: boolean
  /** the run's earlier rating, which this one replaces */
  replaced?: number
  before?: number
  after?: number
  skipped?: string
}

export class LearnerPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly options: LearnerOptions
  readonly #applied = new AppliedTo(PLUGIN_NAME)
  readonly #lastRate = new Map<string, RateResult>()
  #journal?: Journal
  #key?: Promise<MemoryCipher>
  #embedder?: Promise<Embedder>

  constructor(options: LearnerOptions = {}) {
    this.options = validatePluginOptions<LearnerOptions>(PLUGIN_NAME, builtinOptionsSchema('learner'), options)
  }

  apply(engine: PluginHost): void {
    this.#applied.set(engine)
    engine.hooks.route.tapPromise(PLUGIN_NAME, (request, ctx) => this.#route(request, ctx))
    engine.hooks.runDone.tapPromise(PLUGIN_NAME, (r) => this.#record(r))
    engine.hooks.feedback.tapPromise(PLUGIN_NAME, async (rating) => void (await this.rate(rating)))
    engine.hooks.forget.tapPromise(PLUGIN_NAME, (req) => this.#forget(req))
  }

  /** the chains that can be routed to (the engine's catalog) */
  chains(): Promise<ChainChoice[]> {
    return this.#applied.host.chains()
  }

  /** `chain: auto`: picks the chain and says why in a `route` event. */
  async #route(request: RouteRequest, ctx: RunContext): Promise<RouteAnswer> {
    const warn = (message: string) => ctx.log(message, { level: 'warn', plugin: PLUGIN_NAME })
    const route = await this.route(request.query, undefined, request.cost, warn)
    ctx.emit({
      type: 'route',
      chain: route.chain.name,
      queryType: route.type,
      via: route.via,
      reason: route.reason,
      candidates: route.candidates,
      ...(route.skipped.length ? { skipped: route.skipped } : {}),
      // `--explain`: renderers show the candidates and the draws, not only the choice
      explain: this.#applied.host.settings.flags.explain === true,
    })
    return { chain: route.chain, queryType: route.type }
  }

  /** The journal, sealing and opening run records with the memory key (loaded when first needed). */
  journal(): Journal {
    this.#journal ??= new Journal(this.#applied.host.settings.home, {
      key: () => this.#cipher(),
      embed: async (texts) => Promise.all(texts.map((t) => this.#vector(t))),
    })
    return this.#journal
  }

  #cipher(): Promise<MemoryCipher> {
    const { home, env } = this.#applied.host.settings
    this.#key ??= loadCipher({ home, env }).catch((err: unknown) => {
      this.#key = undefined
      throw err
    })
    return this.#key
  }

  /** memory's embedder when memory offers one, else the hashing embedder (embedding.ts) */
  embedder(): Promise<Embedder> {
    this.#embedder ??= learnerEmbedder(this.#applied.host)
    return this.#embedder
  }

  async #vector(query: string): Promise<StoredVector> {
    const embedder = await this.embedder()
    return { embedder: embedder.id, values: await queryVector(embedder, query) }
  }

  get priorStrength(): number {
    return this.options.prior_strength ?? 2
  }

  /**
   * The query's type: keyword rules, chain triggers, then the nearest rated queries (their kept
   * embeddings; only with memory on, which is when runs are kept).
   */
  async classify(
    query: string,
    journal?: JournalEntry[],
    warn?: (message: string) => void,
  ): Promise<{ type: string; via: string; detail: string; triggered: string[] }> {
    const entries = journal ?? (await this.journal().read({ runs: false }))
    const chains = declaredRoutable(await this.chains()).map((c) => ({
      name: c.name,
      ...(c.value.triggers ? { triggers: c.value.triggers } : {}),
    }))
    const memory = this.#applied.host.settings.memory
    return classify(query, {
      chains,
      ...(this.options.rules ? { rules: this.options.rules } : {}),
      rated: memory ? () => this.#ratedQueries(entries, warn) : [],
      embedder: () => this.embedder(),
    })
  }

  /** The rated runs' types and kept embeddings (only the rated run records are opened). */
  async #ratedQueries(entries: JournalEntry[], warn?: (message: string) => void): Promise<RatedQuery[]> {
    const rated = new Set(entries.flatMap((e) => (e.kind === 'rating' ? [e.runId] : [])))
    if (rated.size === 0) return []
    let runs: JournalEntry[]
    try {
      runs = await this.journal().read({ runs: (id) => rated.has(id), ...(warn ? { onWarning: warn } : {}) })
    } catch (err) {
      // the memory key cannot be loaded: classify without the rated queries rather than not at all
      warn?.(
        `the learner could not open its run records, so it classifies without them: ${MiradorError.from(err).message}`,
      )
      return []
    }
    return runs.flatMap((e) =>
      e.kind === 'run'
        ? [{ type: e.type, ...(e.vector && { vector: e.vector }), ...(e.legacy?.query && { query: e.legacy.query }) }]
        : [],
    )
  }

  /**
   * Picks the chain for a query (`mirador ask`), and why, among the chains that can run here. With
   * `costOf` (an energy profile that wants quality per joule), each candidate's draw is divided by
   * the joules it would use.
   */
  async route(
    query: string,
    seed?: number,
    costOf?: (chain: ChainFile) => Promise<number>,
    warn?: (message: string) => void,
  ): Promise<RouteResult> {
    const [all, entries] = await Promise.all([
      this.chains(),
      this.journal().read({ runs: false, ...(warn ? { onWarning: warn } : {}) }),
    ])
    if (all.length === 0)
      throw new MiradorError('CONFIG_NOT_FOUND', 'there is no chain to choose from: add one to ./chains')
    const declared = declaredRoutable(all)
    const { available: chains, skipped } = await availableChains(this.#applied.host, declared)
    skipped.unshift(...all.filter((c) => !declared.includes(c)).map((c) => ({ chain: c.name, reason: 'route: false' })))
    const { type, via, detail, triggered: byTrigger } = await this.classify(query, entries, warn)
    if (chains.length === 0) throw noChainError(skipped)
    const learned = rebuildWeights(entries, (chain, t) => chains.find((c) => c.name === chain)?.value.weights?.[t])
    const withWeight = chains.filter((c) => c.value.weights?.[type] !== undefined || learned[c.name]?.[type])
    const triggered = chains.filter((c) => byTrigger.includes(c.name))
    const pool = [...new Map([...withWeight, ...triggered].map((c) => [c.name, c])).values()]
    const own = (pool.length ? pool : chains).map((c) => {
      const state = learned[c.name]?.[type]
      return { chain: c.name, weight: c.value.weights?.[type] ?? state?.weight ?? 0.5, count: state?.count ?? 0 }
    })
    const priors = await this.priors(type, own, warn)
    const candidates: Candidate[] = own.map((c) => (priors.has(c.chain) ? { ...c, prior: priors.get(c.chain)! } : c))
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
      const others =
        perJoule
          .filter((x) => x !== best)
          .map((x) => `${x.s.chain} ${x.s.sample.toFixed(3)} for ${Math.round(x.joules)} J`)
          .join(', ') || 'no other candidate'
      const drew = `drew ${best.s.sample.toFixed(3)} for about ${Math.round(best.joules)} J`
      picked.reason = `${best.s.chain}: the best expected rating per joule (${drew}; ${others})`
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
        ...(priors.has(s.chain) ? { prior: priors.get(s.chain)! } : {}),
      })),
      skipped,
    }
  }

  /**
   * Outside evidence (the `priors` hook: a community prior) for the candidates of a query type,
   * each given with the user's own ratings count; warnings of the taps go to `warn`.
   */
  priors(
    type: string,
    candidates: readonly { chain: string; count: number }[],
    warn?: (message: string) => void,
  ): Promise<Map<string, CandidatePrior>> {
    return askPriors(this.#applied.host, type, candidates, warn)
  }

  async #record(r: RunResult): Promise<void> {
    const settings = this.#applied.host.settings
    // with memory off nothing of the run is kept, so it cannot be rated later either; a run that
    // never reached a stage has nothing to rate
    if (!settings.memory || !r.memory || r.stages.length === 0) return
    const type = r.queryType ?? (await this.classify(r.query)).type
    // without its embedding the run still counts for weights; it only cannot teach query types
    const vector = await this.#vector(r.query).catch(() => undefined)
    const entry: RunEntry = {
      kind: 'run',
      runId: r.runId,
      chain: r.chain,
      ...(r.file ? { file: r.file } : {}),
      type,
      ...(r.session ? { session: sessionHash(await this.#cipher(), r.session) } : {}),
      ...(vector ? { vector } : {}),
      at: Date.now(),
    }
    await this.journal().append(entry)
  }

  /**
   * Records a rating and moves the chain's weight for the run's query type; a run rated again has
   * its earlier rating replaced. A shipped chain's weight goes to the user's copy (user-copy.ts).
   */
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
    const earlier = lastRating(await journal.read({ runs: false }), run.runId)
    const entry = {
      kind: 'rating' as const,
      runId: run.runId,
      chain: run.chain,
      type: run.type,
      rating: rating.rating,
      at: Math.max(Date.now(), (earlier?.at ?? 0) + 1), // two ratings of one run never share a time
    }
    await journal.append(entry)
    const result: RateResult = {
      runId: run.runId,
      chain: run.chain,
      type: run.type,
      rating: rating.rating,
      ...(earlier ? { replaced: earlier.rating } : {}),
      ...(run.file ? { file: run.file } : {}),
    }
    if (!run.file) {
      result.skipped = `chain ${run.chain} has no file to write its weight to`
    } else {
      try {
        const home = this.#applied.host.settings.home
        const n0 = this.priorStrength
        const target = await weightsFile(run.file, run.chain, home)
        result.file = target.file
        if (target.copied) result.copied = true
        const w = await updateChainWeight(
          target.file,
          run.type,
          async (current) => {
            // the journal's earlier ratings, read now, under the file's lock
            const { count, previous } = ratingContext(await journal.read({ runs: false }), entry)
            const state = { weight: current ?? 0.5, count }
            return (
              previous === undefined ? updateWeight(state, success, n0) : replaceRating(state, previous, success, n0)
            ).weight
          },
          {
            home,
            extraStageProperties: this.#applied.host.stageKeys(),
            rating: { runId: entry.runId, ratingAt: entry.at },
          },
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

  /**
   * `learn rollback`: puts the chain file back as it was before the learner's last change to it,
   * and tells the journal that the rating behind that change no longer counts.
   */
  async rollback(file: string): Promise<{ restored: string; at: number; rating?: RatingRef } | undefined> {
    const r = await rollback(file, this.#applied.host.settings.home)
    if (r?.rating)
      await this.journal().append({ kind: 'undo', runId: r.rating.runId, ratingAt: r.rating.ratingAt, at: Date.now() })
    return r
  }

  lastRateResult(runId: string): RateResult | undefined {
    return this.#lastRate.get(runId)
  }

  /** Forgets what the runs of the request kept of their query and session (journal.ts); ratings stay. */
  async #forget(req: ForgetRequest): Promise<void> {
    const n = await this.journal().forget({
      ...(req.all ? { all: true } : {}),
      ...(req.runIds ? { runIds: new Set(req.runIds) } : {}),
      ...(req.session !== undefined ? { session: req.session } : {}),
      ...(req.before !== undefined ? { before: req.before } : {}),
    })
    req.removed['learner records'] = (req.removed['learner records'] ?? 0) + n
  }
}

/** Why `ask` has nothing to pick from: the chains left out, grouped by reason (often one for all). */
function noChainError(skipped: Skipped[]): MiradorError {
  const byReason = new Map<string, string[]>()
  for (const s of skipped) byReason.set(s.reason, [...(byReason.get(s.reason) ?? []), s.chain])
  const why = [...byReason].map(([reason, chains]) => `${chains.join(', ')}: ${reason.replace(/\.$/, '')}`)
  return new MiradorError(
    'MODEL_UNRESOLVED',
    `no chain can be picked for this question (${why.join('; ')}). ` +
      'Make their models available, or name a chain to run: mirador chain run NAME "QUERY".',
    { details: { skipped } },
  )
}
