/**
 * Battery-aware energy profiles and an energy account for every run (docs/energy.md).
 *
 * - `route` tap (before the router): under a profile that says `choose: quality_per_joule`, gives
 *   `mirador ask` the estimated joules of each chain.
 * - `plan` tap: reads the battery (battery.ts), chooses the profile (profiles.ts: pinned by
 *   --profile / MIRADOR_PROFILE / config `profile:`, else the first by priority whose `when`
 *   holds) and applies it to the plan (transform.ts): substitutions, dropped stages, size cap,
 *   concurrency, num_ctx, keep_alive, memory. It emits the `profile` event (which profile, why,
 *   battery %, plugged, the changes) and puts the same in `done.profile`.
 * - `stageDone` tap: adds the stage's estimated joules to `done.energy` (account.ts).
 * - `runDone` tap: unless the user turned memory off (a profile's `memory: off` does not count:
 *   the log holds no text), appends `{ at, runId, chain, profile, joules }` to
 *   $MIRADOR_HOME/energy/log.jsonl, which `mirador energy report` sums.
 * - `forget` tap: forgetting runs, a time range or everything removes their log lines too.
 */
import type { PluginHost } from '../../engine/engine.js'
import { AppliedTo } from '../../lib/applied-to.js'
import type { ChainFile } from '../../engine/config/index.js'
import { builtinOptionsSchema, validatePluginOptions } from '../../engine/plugin-options.js'
import type {
  ForgetRequest,
  RouteRequest,
  RunContext,
  RunPlan,
  RunResult,
  StageContext,
  StageResult,
} from '../../engine/types.js'
import { addStage, appendLog, emptySummary, estimateJoules, forgetLog, type EnergySummary } from './account.js'
import { readBattery, type BatteryReading } from './battery.js'
import type { EnergyOptions } from './options.gen.js'
import { loadProfiles, selectProfile, type LoadedProfiles, type Selection } from './profiles.js'
import { applyProfile, type Change, type SizeOf } from './transform.js'

const PLUGIN_NAME = 'EnergyPlugin'

export type { EnergyOptions } from './options.gen.js'

/** The pin, by precedence: the flag, then MIRADOR_PROFILE, then config `profile:`. */
export function pinnedProfile(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  config: { profile?: string },
): { name: string; from: string } | undefined {
  if (flag) return { name: flag, from: '--profile' }
  if (env.MIRADOR_PROFILE) return { name: env.MIRADOR_PROFILE, from: 'MIRADOR_PROFILE' }
  if (config.profile) return { name: config.profile, from: 'profile: in config' }
  return undefined
}

/** What `done.profile` and the `profile` event say. */
export interface ProfileReport {
  name: string | null
  reason: string
  /** battery charge in percent; null without a battery */
  battery: number | null
  plugged: boolean
  pinned: boolean
  changes: Change[]
}

interface RunState {
  report: ProfileReport
  chain: string
  /** the plan's `summary.energy`, which stageDone fills */
  energy: EnergySummary
  /** memory as the user (or a served request) set it, before any profile: off, and the run is not logged */
  memory: boolean
}

export class EnergyPlugin {
  readonly name = PLUGIN_NAME
  readonly apiVersion = 1
  readonly config: EnergyOptions
  readonly #applied = new AppliedTo(PLUGIN_NAME)
  #profiles?: Promise<LoadedProfiles>
  readonly #runs = new Map<string, RunState>()

  constructor(options: EnergyOptions = {}) {
    this.config = validatePluginOptions<EnergyOptions>(PLUGIN_NAME, builtinOptionsSchema('energy'), options)
  }

  apply(engine: PluginHost): void {
    this.#applied.set(engine)
    engine.hooks.route.tapPromise({ name: PLUGIN_NAME, stage: -10 }, (request) => this.#route(request))
    engine.hooks.plan.tapPromise(PLUGIN_NAME, (plan, ctx) => this.#plan(plan, ctx))
    engine.hooks.stageDone.tapPromise(PLUGIN_NAME, (result, ctx) => this.#stageDone(result, ctx))
    engine.hooks.runDone.tapPromise(PLUGIN_NAME, (result) => this.#runDone(result))
    engine.hooks.forget.tapPromise(PLUGIN_NAME, (req) => this.#forget(req))
  }

  /** profile folders, most important first (project, user, shipped) */
  get dirs(): readonly string[] {
    return this.#applied.host.settings.dirs.profiles
  }

  /** the pinned profile: --profile, then MIRADOR_PROFILE, then config `profile:` */
  get pin(): { name: string; from: string } | undefined {
    const { flags, env, config } = this.#applied.host.settings
    return pinnedProfile(typeof flags.profile === 'string' ? flags.profile : undefined, env, config)
  }

  /** a model's size in GB, as the manifest declares it (through the models plugin), when known */
  readonly #sizeOf: SizeOf = async (model) => {
    const size = this.#applied.maybe?.capability('models.size')
    if (!size) return undefined
    const r = (await size({ model }).catch(() => undefined)) as { sizeGb?: number | null } | undefined
    return r?.sizeGb ?? undefined
  }

  /** The profiles of `dirs`, loaded once. */
  profiles(): Promise<LoadedProfiles> {
    this.#profiles ??= loadProfiles([...this.dirs])
    return this.#profiles
  }

  battery(): Promise<BatteryReading> {
    const { env, home } = this.#applied.host.settings
    return readBattery(env, { home })
  }

  /** The profile that applies now, and why (throws USAGE for an unknown pinned name). */
  async current(): Promise<{ selection: Selection; reading: BatteryReading }> {
    const [{ profiles }, reading] = await Promise.all([this.profiles(), this.battery()])
    return { selection: selectProfile(profiles, reading, this.pin), reading }
  }

  /**
   * Under a profile that says `choose: quality_per_joule`, an estimate of the joules a chain would
   * use under it (each remaining stage's model size × its max_tokens, or 300, generated, plus a
   * 200-token prompt), for `mirador ask` to weigh against the expected rating; else undefined.
   */
  async qualityPerJoule(): Promise<((chain: ChainFile) => Promise<number>) | undefined> {
    const { selection } = await this.current()
    const profile = selection.profile
    if (profile?.choose !== 'quality_per_joule') return undefined
    const prefs = {
      ...(this.config.forbid ? { forbid: this.config.forbid } : {}),
      ...(this.config.prefer ? { prefer: this.config.prefer } : {}),
    }
    return async (chain) => {
      const plan = {
        runId: 'estimate',
        chain: 'estimate',
        query: '',
        stages: structuredClone(chain.stages),
        answer: [],
        concurrency: Number.POSITIVE_INFINITY,
        vars: {},
        memory: false,
        summary: {},
      } as RunPlan
      await applyProfile(plan, profile, prefs, this.#sizeOf)
      let joules = 0
      for (const stage of Object.values(plan.stages))
        joules += estimateJoules(await this.#sizeOf(stage.model), stage.options?.max_tokens ?? 300, 200)
      return joules
    }
  }

  /** Throws USAGE when the pinned name is unknown: the CLI calls it before a run to fail early. */
  async checkPin(): Promise<void> {
    if (!this.pin) return
    const { profiles, errors } = await this.profiles()
    if (!profiles.some((p) => p.name === this.pin!.name)) {
      // a broken file of that name says more than "unknown"
      const broken = errors.find((e) =>
        e.location?.file.match(new RegExp(`[/\\\\]${this.pin!.name.replace(/[^a-z0-9_-]/g, '')}\\.ya?ml$`)),
      )
      if (broken) throw broken
      selectProfile(profiles, { percent: 100, plugged: true, hasBattery: false }, this.pin)
    }
  }

  /** `chain: auto` under a profile that weighs quality per joule: the router gets the cost of each chain. */
  async #route(request: RouteRequest): Promise<undefined> {
    const cost = await this.qualityPerJoule()
    if (cost) request.cost = cost
    return undefined
  }

  async #plan(plan: RunPlan, ctx: RunContext): Promise<RunPlan> {
    const { selection, reading } = await this.current()
    const prefs = {
      ...(this.config.forbid ? { forbid: this.config.forbid } : {}),
      ...(this.config.prefer ? { prefer: this.config.prefer } : {}),
    }
    const changes = await applyProfile(plan, selection.profile, prefs, this.#sizeOf)
    const report: ProfileReport = {
      name: selection.profile?.name ?? null,
      reason: selection.reason,
      battery: reading.hasBattery ? Math.round(reading.percent) : null,
      plugged: reading.plugged,
      pinned: selection.pinned,
      changes,
    }
    plan.summary.profile = report
    const energy = emptySummary(report.name)
    plan.summary.energy = energy
    this.#runs.set(plan.runId, { report, chain: plan.chain, energy, memory: ctx.memory })
    ctx.emit({ type: 'profile', ...report })
    for (const e of (await this.profiles()).errors) {
      ctx.emit({ type: 'error', code: e.code, message: `energy profile left out: ${e.format()}`, plugin: PLUGIN_NAME })
    }
    return plan
  }

  async #stageDone(result: StageResult, ctx: StageContext): Promise<void> {
    const summary = ((ctx.summary as { energy?: EnergySummary }).energy ??= emptySummary(
      this.#runs.get(ctx.runId)?.report.name ?? null,
    ))
    const gb = await this.#sizeOf(ctx.spec.model)
    const costs = this.config.costs
    const cost =
      costs &&
      (Object.prototype.hasOwnProperty.call(costs, ctx.spec.model)
        ? costs[ctx.spec.model]
        : result.model && Object.prototype.hasOwnProperty.call(costs, result.model)
          ? costs[result.model]
          : undefined)
    addStage(summary, result.model ?? ctx.spec.model, gb, result.tokens, result.promptTokens ?? 0, cost)
  }

  async #runDone(result: RunResult): Promise<void> {
    const run = this.#runs.get(result.runId)
    this.#runs.delete(result.runId)
    if (!run || !this.#applied.host.settings.memory || !run.memory) return
    await appendLog(this.#applied.host.settings.home, {
      at: new Date().toISOString(),
      runId: result.runId,
      chain: run.chain,
      profile: run.report.name,
      joules: run.energy.joules,
      tokens: run.energy.tokens,
      promptTokens: run.energy.promptTokens,
    })
  }

  async #forget(req: ForgetRequest): Promise<void> {
    if (!(req.all || req.before !== undefined || req.runIds?.length)) return
    const n = await forgetLog(this.#applied.host.settings.home, {
      ...(req.all ? { all: true } : {}),
      ...(req.before !== undefined ? { before: req.before } : {}),
      runIds: req.runIds ?? [],
    })
    if (n > 0) req.removed['energy log entries'] = (req.removed['energy log entries'] ?? 0) + n
  }
}
