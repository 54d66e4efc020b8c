/**
 * The energy benchmark: a simulated day of 200 mixed queries under each shipped profile.
 *
 * Each query picks a shipped chain (quick-deep 40 %, draft-refine 30 %, single 30 %) and draws,
 * from one seeded stream, the tokens each stage would generate (log-normal around a per-stage
 * median, clamped to the stage's max_tokens) and the query's prompt length; a stage whose prompt
 * has {{memory}} gets 150 more prompt tokens of recalled memories when memory is on, and refine
 * reads the draft. draft-refine's refine is skipped when the draft is confident (30 % of
 * queries, as its skip_when does). The same draws are used under every profile.
 *
 * For each profile the real plan transform (src/plugins/energy/transform.ts) is applied to the
 * real chain files, with model sizes from the shipped manifest, and the real estimate
 * (account.ts) gives the joules; prompt tokens are clamped to the stage's num_ctx. No model runs.
 * A query is answered when at least one stage remains. What quality was given up: stages
 * dropped, stages moved to a smaller model, the mean size of the models that ran, and the share
 * of answers that came from the deep model.
 *
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs bench/energy-day.ts
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadConfigFile, type ChainFile, type ManifestFile } from '../src/engine/config/index.js'
import type { RunPlan, Stage } from '../src/engine/types.js'
import { estimateJoules } from '../src/plugins/energy/account.js'
import { loadProfiles, type Profile } from '../src/plugins/energy/profiles.js'
import { applyProfile, DEFAULT_MODEL_GB } from '../src/plugins/energy/transform.js'
import { seededRandom } from '../src/plugins/learner/bandit.js'
import type { Row } from './lib.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** median generated tokens per stage name (what a stage of that role writes) */
const MEDIAN_TOKENS: Record<string, number> = { quick: 120, deep: 450, draft: 220, refine: 380, answer: 180 }
const MEMORY_TOKENS = 150
const MIX: [string, number][] = [
  ['quick-deep', 0.4],
  ['draft-refine', 0.3],
  ['single', 0.3],
]
const REFINE_SKIPPED = 0.3

export interface DayRow {
  profile: string
  joulesPerQuery: number
  /** share of queries with at least one stage left */
  answered: number
  /** stages dropped per query */
  stagesDropped: number
  /** stages moved to another model per query */
  stagesSubstituted: number
  /** mean size (GB) of the models of the stages that ran, weighted by generated tokens */
  meanModelGb: number
  /** share of answers written by the largest model (deep) */
  deepAnswers: number
  /** generated tokens per query */
  tokensPerQuery: number
}

interface Query {
  chain: string
  promptTokens: number
  /** generated tokens, by stage name */
  tokens: Record<string, number>
  refineSkipped: boolean
}

function normal(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng())
}

function drawQueries(n: number, chains: Map<string, ChainFile>, seed: number): Query[] {
  const rng = seededRandom(seed)
  const out: Query[] = []
  for (let i = 0; i < n; i++) {
    let u = rng()
    const chain = MIX.find(([, p]) => (u -= p) < 0)?.[0] ?? MIX[0]![0]
    const tokens: Record<string, number> = {}
    for (const [name, stage] of Object.entries(chains.get(chain)!.stages)) {
      const max = stage.options?.max_tokens ?? 1000
      tokens[name] = Math.max(5, Math.min(max, Math.round((MEDIAN_TOKENS[name] ?? 200) * Math.exp(0.5 * normal(rng)))))
    }
    out.push({ chain, promptTokens: Math.round(20 + 180 * rng() ** 2), tokens, refineSkipped: rng() < REFINE_SKIPPED })
  }
  return out
}

export async function simulateDay(
  opts: { queries?: number; seed?: number } = {},
): Promise<{ rows: DayRow[]; ratio: number }> {
  const n = opts.queries ?? 200
  const chains = new Map<string, ChainFile>()
  for (const [name] of MIX)
    chains.set(name, (await loadConfigFile<ChainFile>(path.join(ROOT, 'chains', `${name}.yaml`), 'chain')).value)
  const manifest = (await loadConfigFile<ManifestFile>(path.join(ROOT, 'models', 'manifest.yaml'), 'manifest')).value
  const sizeOf = async (m: string) => manifest.models?.[m]?.size_gb
  const sizes = Object.values(manifest.models ?? {}).flatMap((m) => (m.size_gb !== undefined ? [m.size_gb] : []))
  const largest = Math.max(...sizes)
  const { profiles } = await loadProfiles([path.join(ROOT, 'profiles')])
  const queries = drawQueries(n, chains, opts.seed ?? 7)
  const rows: DayRow[] = []
  for (const name of ['performance', 'balanced', 'survival']) {
    const profile: Profile = profiles.find((p) => p.name === name)!
    let joules = 0
    let answered = 0
    let dropped = 0
    let substituted = 0
    let gbTokens = 0
    let tokensAll = 0
    let deep = 0
    for (const q of queries) {
      const chain = chains.get(q.chain)!
      const stages = structuredClone(chain.stages) as Record<string, Stage>
      const plan: RunPlan = {
        runId: 'r',
        chain: q.chain,
        query: '',
        stages,
        answer: chain.answer ?? Object.keys(stages).reverse(),
        concurrency: Infinity,
        vars: {},
        memory: true,
        summary: {},
      }
      const changes = await applyProfile(plan, profile, {}, sizeOf)
      dropped += changes.filter((c) => c.what === 'drop').length - changes.filter((c) => c.what === 'keep').length
      substituted += new Set(
        changes.flatMap((c) => (c.what === 'substitute' && c.stage in plan.stages ? [c.stage] : [])),
      ).size
      const ran: { stage: string; gb: number }[] = []
      for (const [stage, spec] of Object.entries(plan.stages)) {
        if (stage === 'refine' && q.refineSkipped && 'draft' in plan.stages) continue
        const gb = (await sizeOf(spec.model)) ?? DEFAULT_MODEL_GB
        const gen = q.tokens[stage] ?? 0
        let prompt = q.promptTokens + (plan.memory && spec.prompt.includes('{{memory}}') ? MEMORY_TOKENS : 0)
        if (stage === 'refine') prompt += q.tokens.draft ?? 0
        prompt = Math.min(prompt, spec.options?.num_ctx ?? Infinity)
        joules += estimateJoules(gb, gen, prompt)
        gbTokens += gb * gen
        tokensAll += gen
        ran.push({ stage, gb })
      }
      if (ran.length > 0) answered++
      const answer = plan.answer.find((s) => ran.some((r) => r.stage === s)) ?? ran[0]?.stage
      if (answer && ran.find((r) => r.stage === answer)!.gb >= largest) deep++
    }
    const r2 = (x: number) => Math.round(x * 100) / 100
    rows.push({
      profile: name,
      joulesPerQuery: r2(joules / n),
      answered: r2(answered / n),
      stagesDropped: r2(dropped / n),
      stagesSubstituted: r2(substituted / n),
      meanModelGb: r2(tokensAll ? gbTokens / tokensAll : 0),
      deepAnswers: r2(deep / n),
      tokensPerQuery: Math.round(tokensAll / n),
    })
  }
  const perf = rows.find((r) => r.profile === 'performance')!.joulesPerQuery
  const surv = rows.find((r) => r.profile === 'survival')!.joulesPerQuery
  return { rows, ratio: surv / perf }
}

/** Rows for bench/run.ts's table. */
export async function energyRows(): Promise<Row[]> {
  const { rows, ratio } = await simulateDay()
  const perf = rows.find((r) => r.profile === 'performance')!
  return rows.map((r) => ({
    benchmark: `energy: day of 200 queries, ${r.profile}`,
    measured: `${r.joulesPerQuery.toFixed(0)} J/query, ${(100 * r.answered).toFixed(0)} % answered`,
    baseline: `performance ${perf.joulesPerQuery.toFixed(0)} J/query`,
    ratio:
      `${(r.joulesPerQuery / perf.joulesPerQuery).toFixed(2)}×; dropped ${r.stagesDropped}/q, ` +
      `${r.meanModelGb} GB mean, deep answers ${(100 * r.deepAnswers).toFixed(0)} %`,
    goal: r.profile === 'survival' ? '≤ 1/3 of performance' : 'report',
    met: r.profile === 'survival' ? (ratio <= 1 / 3 ? 'yes' : 'no') : '—',
  }))
}

async function main(): Promise<void> {
  const { rows, ratio } = await simulateDay()
  console.log(
    'A simulated day: 200 queries (quick-deep 40 %, draft-refine 30 %, single 30 %), seeded; ' +
      'shipped profiles, chains and manifest.\n',
  )
  console.log('profile       J/query  answered  tokens/q  dropped/q  substituted/q  mean model GB  deep answers')
  for (const r of rows) {
    const cells = [
      r.joulesPerQuery.toFixed(1).padStart(8),
      `${(100 * r.answered).toFixed(0).padStart(7)} %`,
      String(r.tokensPerQuery).padStart(8),
      r.stagesDropped.toFixed(2).padStart(9),
      r.stagesSubstituted.toFixed(2).padStart(13),
      r.meanModelGb.toFixed(2).padStart(13),
      `${(100 * r.deepAnswers).toFixed(0).padStart(10)} %`,
    ]
    console.log(`${r.profile.padEnd(12)} ${cells.join('  ')}`)
  }
  const goal = ratio <= 1 / 3 ? 'met' : 'not met'
  console.log(`\nsurvival / performance energy per query: ${ratio.toFixed(3)} (goal ≤ 0.333: ${goal})`)
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main()
