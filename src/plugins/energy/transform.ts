/**
 * What a profile does to a run's plan, as one function with no I/O but `sizeOf` (so the plugin,
 * the tests and the benchmark apply the very same transform). It changes the plan in place and
 * returns the list of changes, which the `profile` event and `done.profile` report.
 *
 * Order: each stage's model goes through the profile's `substitute`, then the config's `prefer`
 * (one step each); a stage whose model is then `forbid`den is dropped. Then `drop_stages`, then
 * `max_size_gb` (a stage whose model is larger is dropped; a model of unknown size passes). A
 * stage that reads a dropped stage is dropped too. If that leaves no stage, the profile's drops
 * are undone for one stage: the root stage (one that reads no other) with the smallest model, so a
 * profile never leaves a query unanswered. Forbidden models are never brought back: if every
 * stage uses one, the run has no stage and ends with ok: false.
 */
import { directDeps } from '../../engine/chain.js'
import type { RunPlan, Stage } from '../../engine/types.js'
import type { ProfileFile } from '../../engine/config/index.js'

/** Size assumed for a model whose size the manifest does not give (GB), for choosing and energy. */
export const DEFAULT_MODEL_GB = 4

/**
 * A stage without `options.num_ctx` gets the profile's cap only when the cap is at most this: the
 * smallest default context of the runtimes (Ollama has used 2048 and 4096, llama.cpp here 2048),
 * so a cap never raises a stage's context above what it would have had.
 */
export const UNSET_NUM_CTX_BELOW = 2048

export interface Preferences {
  /** models never used (a stage on one is dropped) */
  forbid?: readonly string[]
  /** model → model used instead, whatever the profile */
  prefer?: Readonly<Record<string, string>>
}

export type Change =
  | { what: 'substitute'; stage: string; from: string; to: string; by: 'profile' | 'prefer' }
  | { what: 'drop'; stage: string; model: string; reason: string }
  | { what: 'keep'; stage: string; model: string; reason: string }
  | { what: 'num_ctx'; stage: string; from: number | null; to: number }
  | { what: 'concurrency'; to: number }
  | { what: 'keep_alive'; to: string | number }
  | { what: 'memory'; to: 'off' }

const own = <T>(map: Readonly<Record<string, T>> | undefined, key: string): T | undefined =>
  map && Object.prototype.hasOwnProperty.call(map, key) ? map[key] : undefined

export type SizeOf = (model: string) => Promise<number | undefined>

export async function applyProfile(
  plan: RunPlan,
  profile: ProfileFile | undefined,
  prefs: Preferences,
  sizeOf: SizeOf,
): Promise<Change[]> {
  const changes: Change[] = []
  const original: Record<string, Stage> = { ...plan.stages }
  const forbid = new Set(prefs.forbid ?? [])
  const forbidden = new Set<string>()
  const drop = (name: string, reason: string) => {
    changes.push({ what: 'drop', stage: name, model: plan.stages[name]!.model, reason })
    delete plan.stages[name]
  }

  // 1. models: the profile's substitution, then the user's preference; forbidden models go
  for (const [name, stage] of Object.entries(plan.stages)) {
    let model = stage.model
    const sub = own(profile?.substitute, model)
    if (sub !== undefined && sub !== model) {
      changes.push({ what: 'substitute', stage: name, from: model, to: sub, by: 'profile' })
      model = sub
    }
    const pref = own(prefs.prefer, model)
    if (pref !== undefined && pref !== model) {
      changes.push({ what: 'substitute', stage: name, from: model, to: pref, by: 'prefer' })
      model = pref
    }
    stage.model = model
    if (forbid.has(model)) {
      forbidden.add(name)
      drop(name, `model "${model}" is forbidden in config (builtins.energy.forbid)`)
    }
  }
  // 2. stages the profile leaves out
  for (const name of profile?.drop_stages ?? [])
    if (name in plan.stages) drop(name, 'the profile drops it (drop_stages)')
  // 3. the size cap
  const cap = profile?.max_size_gb
  if (cap !== undefined) {
    for (const [name, stage] of Object.entries(plan.stages)) {
      const gb = await sizeOf(stage.model)
      if (gb !== undefined && gb > cap)
        drop(name, `model "${stage.model}" is ${gb} GB, over the profile's max_size_gb of ${cap}`)
    }
  }
  // 4. a stage that reads a dropped one cannot run
  for (let again = true; again; ) {
    again = false
    for (const [name, stage] of Object.entries(plan.stages)) {
      const gone = [...directDeps(name, stage).refs].find((r) => r in original && !(r in plan.stages))
      if (gone) {
        drop(name, `it reads stage "${gone}", which was dropped`)
        again = true
      }
    }
  }
  // 5. never leave a query unanswered because of the profile: keep the smallest root stage
  if (Object.keys(plan.stages).length === 0) {
    let best: { name: string; gb: number } | undefined
    for (const [name, stage] of Object.entries(original)) {
      if (forbidden.has(name) || [...directDeps(name, stage).refs].some((r) => r in original && r !== name)) continue
      const gb = (await sizeOf(stage.model)) ?? DEFAULT_MODEL_GB
      if (!best || gb < best.gb) best = { name, gb }
    }
    if (best) {
      plan.stages[best.name] = original[best.name]!
      changes.push({
        what: 'keep',
        stage: best.name,
        model: original[best.name]!.model,
        reason: 'the profile would leave no stage: the smallest one runs',
      })
    }
  }
  plan.answer = plan.answer.filter((n) => n in plan.stages)
  // 6. context, concurrency, keep-alive, memory
  const ctxMax = profile?.num_ctx_max
  if (ctxMax !== undefined) {
    for (const [name, stage] of Object.entries(plan.stages)) {
      const cur = stage.options?.num_ctx
      if (cur !== undefined ? cur > ctxMax : ctxMax <= UNSET_NUM_CTX_BELOW) {
        stage.options = { ...stage.options, num_ctx: ctxMax }
        changes.push({ what: 'num_ctx', stage: name, from: cur ?? null, to: ctxMax })
      }
    }
  }
  if (profile?.concurrency === false && plan.concurrency !== 1) {
    plan.concurrency = 1
    changes.push({ what: 'concurrency', to: 1 })
  }
  if (profile?.keep_alive !== undefined) {
    plan.keepAlive = profile.keep_alive
    changes.push({ what: 'keep_alive', to: profile.keep_alive })
  }
  if (profile?.memory === 'off' && plan.memory) {
    plan.memory = false
    changes.push({ what: 'memory', to: 'off' })
  }
  return changes
}
