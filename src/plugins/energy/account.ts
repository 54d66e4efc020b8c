/**
 * The energy account: an estimate of the joules each run used, and the log that
 * `mirador energy report` sums.
 *
 * The estimate is deliberately simple, and documented in docs/energy.md: a token costs energy in
 * proportion to the bytes of weights the machine streams through to make it, that is to the
 * model's size on disk. Rough public laptop numbers (Apple M-series and recent x86 laptops running
 * Q4 models through llama.cpp or Ollama): a 4.7 GB 7B model generates about 20–25 tokens/s at
 * about 20–25 W above idle, about 1 J per token, so ≈ 0.2 J per generated token per GB; a 1.3 GB
 * 1B model about 60 tokens/s at 15 W, ≈ 0.19 J/token/GB. Prompt tokens are processed in batches
 * 10 to 20 times faster at a similar power: ≈ 0.02 J per prompt token per GB.
 *
 *   joules = size_gb × (J_GEN × generated tokens + J_PROMPT × prompt tokens)
 *
 * A model whose size the manifest does not give counts as DEFAULT_MODEL_GB (4 GB). The constants
 * can be overridden per model with the plugin's `costs` option (config `builtins.energy.costs`).
 *
 * The log (`$MIRADOR_HOME/energy/log.jsonl`) gets one line per run when the run's memory is on:
 * `{ at, runId, chain, profile, joules, tokens, promptTokens }`. No query or answer text is
 * written. Each line is appended with O_APPEND in one write and fsynced, holding
 * `energy/log.lock` (the memory's file lock), as the learner's journal is.
 */
import { open, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { writeFileAtomic } from '../../lib/atomic-write.js'
import { withFileLock } from '../../lib/file-lock.js'
import { ensurePrivateDir } from '../../lib/crypto.js'
import { DEFAULT_MODEL_GB } from './transform.js'

/** joules per generated token per GB of model */
export const J_GEN = 0.2
/** joules per prompt token per GB of model */
export const J_PROMPT = 0.02

export interface TokenCost {
  /** joules per generated token (for this model, whatever its size) */
  j_per_token?: number
  /** joules per prompt token */
  j_per_prompt_token?: number
}

/** Joules for one stage's tokens on a model of `gb` GB (or an explicit per-model cost). */
export function estimateJoules(
  gb: number | undefined,
  generated: number,
  prompt: number,
  cost: TokenCost = {},
): number {
  const size = gb ?? DEFAULT_MODEL_GB
  const perGen = cost.j_per_token ?? J_GEN * size
  const perPrompt = cost.j_per_prompt_token ?? J_PROMPT * size
  return perGen * Math.max(0, generated) + perPrompt * Math.max(0, prompt)
}

/** What `done.energy` carries. */
export interface EnergySummary {
  /** rounded to 0.1 J */
  joules: number
  tokens: number
  promptTokens: number
  /** per model (display name): joules and tokens */
  byModel: Record<string, { joules: number; tokens: number; promptTokens: number; gb: number }>
  profile: string | null
  /** how this was computed */
  method: string
}

const JOULES_PER_GB = `${J_GEN} J × generated + ${J_PROMPT} J × prompt tokens`
export const METHOD = `size_gb × (${JOULES_PER_GB}); unknown size = ${DEFAULT_MODEL_GB} GB`

export function emptySummary(profile: string | null): EnergySummary {
  return { joules: 0, tokens: 0, promptTokens: 0, byModel: {}, profile, method: METHOD }
}

const r1 = (x: number) => Math.round(x * 10) / 10

/** Adds one stage to a run's summary. */
export function addStage(
  summary: EnergySummary,
  model: string,
  gb: number | undefined,
  generated: number,
  prompt: number,
  cost?: TokenCost,
): void {
  const j = estimateJoules(gb, generated, prompt, cost)
  const m = (summary.byModel[model] ??= { joules: 0, tokens: 0, promptTokens: 0, gb: gb ?? DEFAULT_MODEL_GB })
  m.joules = r1(m.joules + j)
  m.tokens += generated
  m.promptTokens += prompt
  summary.tokens += generated
  summary.promptTokens += prompt
  summary.joules = r1(Object.values(summary.byModel).reduce((s, x) => s + x.joules, 0))
}

export interface EnergyLogEntry {
  /** ISO time */
  at: string
  runId: string
  chain: string
  profile: string | null
  joules: number
  tokens: number
  promptTokens: number
}

export function logFile(home: string): string {
  return path.join(home, 'energy', 'log.jsonl')
}

function lockFile(home: string): string {
  return path.join(home, 'energy', 'log.lock')
}

export async function appendLog(home: string, entry: EnergyLogEntry): Promise<void> {
  const file = logFile(home)
  await ensurePrivateDir(path.dirname(file))
  await withFileLock(
    lockFile(home),
    async () => {
      const fh = await open(file, 'a+', 0o600)
      try {
        // a line cut short by a crash would glue onto this one: start on a fresh line if needed
        const st = await fh.stat()
        let prefix = ''
        if (st.size > 0) {
          const last = Buffer.alloc(1)
          await fh.read(last, 0, 1, st.size - 1)
          if (last[0] !== 0x0a) prefix = '\n'
        }
        await fh.write(prefix + JSON.stringify(entry) + '\n')
        await fh.sync()
      } finally {
        await fh.close()
      }
    },
    { what: 'the energy log' },
  )
}

/** Every well-formed line of the log (broken lines are skipped). */
export async function readLog(home: string): Promise<EnergyLogEntry[]> {
  let text: string
  try {
    text = await readFile(logFile(home), 'utf8')
  } catch {
    return []
  }
  const out: EnergyLogEntry[] = []
  for (const line of text.split('\n')) {
    if (!line.trim()) continue
    try {
      const e = JSON.parse(line) as EnergyLogEntry
      if (typeof e.at === 'string' && typeof e.joules === 'number' && typeof e.chain === 'string') out.push(e)
    } catch {
      // a torn line
    }
  }
  return out
}

/** Removes log lines of the given runs, before a time, or all (the `forget` hook). Returns how many. */
export async function forgetLog(
  home: string,
  what: { runIds?: readonly string[]; before?: number; all?: boolean },
): Promise<number> {
  const file = logFile(home)
  return withFileLock(
    lockFile(home),
    async () => {
      const entries = await readLog(home)
      if (entries.length === 0) return 0
      if (what.all) {
        await rm(file, { force: true })
        return entries.length
      }
      const ids = new Set(what.runIds ?? [])
      const keep = entries.filter(
        (e) => !ids.has(e.runId) && !(what.before !== undefined && Date.parse(e.at) < what.before),
      )
      if (keep.length === entries.length) return 0
      await writeFileAtomic(file, keep.map((e) => JSON.stringify(e) + '\n').join(''), 0o600)
      return entries.length - keep.length
    },
    { what: 'the energy log' },
  )
}

export interface ReportRow {
  key: string
  runs: number
  joules: number
  /** joules per run */
  mean: number
  tokens: number
}

export interface EnergyReport {
  runs: number
  joules: number
  /** watt-hours (joules / 3600) */
  wh: number
  byProfile: ReportRow[]
  byChain: ReportRow[]
  byDay: ReportRow[]
}

function localDay(iso: string): string {
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return 'unknown'
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

function group(entries: readonly EnergyLogEntry[], key: (e: EnergyLogEntry) => string): ReportRow[] {
  const m = new Map<string, ReportRow>()
  for (const e of entries) {
    const k = key(e)
    const row = m.get(k) ?? { key: k, runs: 0, joules: 0, mean: 0, tokens: 0 }
    row.runs++
    row.joules += e.joules
    row.tokens += e.tokens ?? 0
    m.set(k, row)
  }
  return [...m.values()].map((r) => ({ ...r, joules: r1(r.joules), mean: r1(r.joules / r.runs) }))
}

/** Sums the log per profile, per chain (most energy first) and per (local) day (in date order). */
export function summarize(entries: readonly EnergyLogEntry[]): EnergyReport {
  const joules = entries.reduce((s, e) => s + e.joules, 0)
  const byEnergy = (a: ReportRow, b: ReportRow) => b.joules - a.joules || (a.key < b.key ? -1 : 1)
  return {
    runs: entries.length,
    joules: r1(joules),
    wh: Math.round((joules / 3600) * 1000) / 1000,
    byProfile: group(entries, (e) => e.profile ?? '(none)').sort(byEnergy),
    byChain: group(entries, (e) => e.chain).sort(byEnergy),
    byDay: group(entries, (e) => localDay(e.at)).sort((a, b) => (a.key < b.key ? -1 : 1)),
  }
}
