/**
 * What the user's documents add to runs, tapped by the memory plugin (their key, embedder and store
 * are memory's):
 *
 * - `{{docs}}`: passages relevant to the question, with their citations (inject.ts). Searched once
 *   per run, started with the plan like memory's recall, and only when a stage reads `{{docs}}` and
 *   something is indexed; each stage takes what its `docs:` key allows. A `docs` event names what
 *   was cited. A store that fails is said once, and the run goes on without documents.
 * - the `docs.search` capability, for the `search_docs` tool: passages with `path:line-line`
 *   citations (conversations stay with `memory.search`).
 * - `memory forget --all` forgets the documents too: the index and every passage.
 *
 * With memory off for a run (`--no-memory`, a profile) documents are neither read nor searched.
 */
import type { PluginHost } from '../../../engine/engine.js'
import { MiradorError } from '../../../engine/errors.js'
import type { ForgetRequest, Prompt, RunPlan, StageContext } from '../../../engine/types.js'
import { approxTokens, usesVar } from '../inject.js'
import type { MemoryStageKeys } from '../options.gen.js'
import type { Docs } from './docs.js'
import { DOCS_DEFAULTS, docsBlock } from './inject.js'
import { citation, type Passage } from './passages.js'

type StageDocs = NonNullable<MemoryStageKeys['docs']>

interface RunDocs {
  found: Promise<{ passages: Passage[]; error?: unknown }>
  warned: boolean
}

/** capability limits, as memory.search's */
const MAX_QUERY = 2000
const MAX_K = 20

/** `docs`: the plugin's documents; `show`: whether events carry the text given (--show-memory) */
export function tapDocs(
  engine: PluginHost,
  name: string,
  { docs, show }: { docs: () => Docs; show: () => boolean },
): void {
  engine.registerTemplateVars(['docs'])
  engine.registerCapability('docs.search', (args) => searchCapability(engine, docs(), args))
  if (!engine.settings.memory) return
  const runs = new Map<string, RunDocs>()

  engine.hooks.plan.tap({ name, stage: 50 }, (plan) => {
    const k = wantedK(plan)
    if (plan.memory && k > 0 && !runs.has(plan.runId)) {
      runs.set(plan.runId, { found: searchOnce(docs(), plan.query, k), warned: false })
    }
    return plan
  })
  engine.hooks.prompt.tapPromise(name, async (prompt, ctx) => {
    const run = runs.get(ctx.runId)
    const tune = (ctx.spec as { docs?: StageDocs }).docs
    if (!run || tune === false || !ctx.memory || !usesVar(prompt, 'docs')) return prompt
    return withDocs(
      prompt,
      ctx,
      run,
      { threshold: docs().threshold, ...(typeof tune === 'object' ? tune : {}) },
      show(),
      docs(),
    )
  })
  engine.hooks.runDone.tapPromise(name, async (result) => void runs.delete(result.runId))
  // before memory's own forget, which may replace the key the index is sealed with
  engine.hooks.forget.tapPromise({ name, stage: -10 }, async (req: ForgetRequest) => {
    if (!req.all) return
    const n = await docs().removeAll({ purge: false })
    req.removed.documents = (req.removed.documents ?? 0) + n
  })
}

/** the most passages a stage of the plan may take; 0 when none reads {{docs}} */
function wantedK(plan: RunPlan): number {
  let k = 0
  for (const s of Object.values(plan.stages)) {
    const tune = (s as { docs?: StageDocs }).docs
    if (tune === false || !usesVar(s, 'docs')) continue
    k = Math.max(k, (typeof tune === 'object' ? tune.k : undefined) ?? DOCS_DEFAULTS.k)
  }
  return k
}

async function searchOnce(docs: Docs, query: string, k: number): Promise<{ passages: Passage[]; error?: unknown }> {
  try {
    // nothing indexed: not even the key is read
    if (!(await docs.indexed())) return { passages: [] }
    return { passages: await docs.search(query, { limit: k, threshold: 0 }) }
  } catch (error) {
    return { passages: [], error }
  }
}

async function withDocs(
  prompt: Prompt,
  ctx: StageContext,
  run: RunDocs,
  tune: Exclude<StageDocs, boolean> & { threshold: number },
  show: boolean,
  docs: Docs,
): Promise<Prompt> {
  const { passages, error } = await run.found
  if (error !== undefined && !run.warned) {
    run.warned = true
    const e = MiradorError.from(error, 'MEMORY_UNAVAILABLE')
    ctx.emit({
      type: 'docs',
      stage: ctx.stage,
      unavailable: true,
      code: e.code,
      message: `your documents cannot be searched, so this run goes on without them: ${e.message}`,
    })
  }
  const chosen = passages.filter((p) => docs.relevant(p, tune.threshold)).slice(0, tune.k ?? DOCS_DEFAULTS.k)
  const block = docsBlock(chosen, tune.budget_tokens ?? DOCS_DEFAULTS.budget_tokens)
  if (block.passages.length) {
    ctx.emit({
      type: 'docs',
      stage: ctx.stage,
      cited: block.passages.map((p) => citation(p)),
      scores: block.passages.map((p) => Math.round(p.score * 1e4) / 1e4),
      tokens: approxTokens(block.text),
      ...(show ? { text: block.text } : {}),
    })
  }
  return { ...prompt, vars: { ...prompt.vars, docs: block.text } }
}

/** `docs.search` for sandboxed tools: `{ query, k? }` → `{ indexed, results: [{ citation, text, … }] }` */
async function searchCapability(engine: PluginHost, docs: Docs, args: unknown): Promise<unknown> {
  if (!engine.settings.memory) throw new MiradorError('USAGE', 'memory is off: your documents cannot be searched')
  const a = (args ?? {}) as { query?: unknown; k?: unknown }
  if (typeof a.query !== 'string' || a.query.length === 0 || a.query.length > MAX_QUERY)
    throw new MiradorError(
      'TOOL_INVALID',
      `docs.search needs { query: a string of 1 to ${MAX_QUERY} characters, k?: 1 to ${MAX_K} }`,
    )
  const k = a.k === undefined ? 5 : a.k
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > MAX_K)
    throw new MiradorError('TOOL_INVALID', `docs.search: k must be a whole number from 1 to ${MAX_K}`)
  if (!(await docs.indexed())) return { indexed: false, results: [] }
  const found = await docs.search(a.query, { limit: k })
  return {
    indexed: true,
    results: found.map((p) => ({
      citation: citation(p),
      heading: p.heading,
      text: p.text,
      score: Math.round(p.score * 1e4) / 1e4,
    })),
  }
}
