/**
 * `federation pull` and `aggregate` as library calls: bring in the others' files, do this member's
 * owed steps and the due closings in open rounds, and turn the newest verified result into
 * prior.json.
 */
import { MiradorError } from '../../../engine/errors.js'
import { advance, type AdvanceOptions, type Step, type Waiting } from './advance.js'
import type { RoundContext } from './context.js'
import { checkResult } from './opening.js'
import { priorOf, writePrior, type Prior } from './prior.js'
import { readRound } from './read.js'
import { listRounds } from './rounds.js'
import { isFinished, type Problem, type RoundView } from './types.js'

export interface PullReport {
  steps: Step[]
  /** what each round still open waits for */
  waiting: Waiting[]
  /** the prior written, from the newest opened round whose result recomputes */
  prior?: Prior
  priorFile?: string
  /** rounds that could not go on, and the newest result's problems (a result that does not recompute is not used) */
  problems: Problem[]
}

/** The rounds not finished yet, and the views of all. */
async function views(ctx: RoundContext): Promise<RoundView[]> {
  const out: RoundView[] = []
  for (const id of await listRounds(ctx.exchange)) out.push(await readRound(ctx.exchange, ctx.group, id))
  return out
}

export async function pull(ctx: RoundContext): Promise<PullReport> {
  await ctx.exchange.sync()
  const report: PullReport = { steps: [], waiting: [], problems: [] }
  const all = await views(ctx)
  for (const [i, v] of all.entries()) {
    if (!v.open || isFinished(v)) continue
    try {
      const moved = await advance(ctx, v.round)
      report.steps.push(...moved.steps)
      all[i] = moved.view
      if (!isFinished(moved.view)) report.waiting.push(moved.waiting)
    } catch (err) {
      // one round that cannot go on (a share that does not reconstruct…) must not stop the others
      if (!MiradorError.is(err) || !err.code.startsWith('FEDERATION_')) throw err
      report.problems.push({ file: `rounds/${v.round}`, reason: 'inconsistent', message: err.message })
    }
  }
  const newest = all.filter((v) => v.result).at(-1)
  if (newest) {
    const problem = checkResult(ctx.group, newest)
    if (problem) report.problems.push(problem)
    const prior = problem ? undefined : priorOf(ctx.group, newest)
    if (prior) {
      report.prior = prior
      report.priorFile = await writePrior(ctx.home, prior)
    }
  }
  return report
}

/** One round's steps and closings (default: the newest round); `force` closes its open phase now. */
export async function aggregateRound(
  ctx: RoundContext,
  round: string | undefined,
  options: AdvanceOptions = {},
): Promise<{ round: string; steps: Step[]; waiting: Waiting; problems: Problem[] }> {
  await ctx.exchange.sync()
  const id = round ?? (await listRounds(ctx.exchange)).at(-1)
  if (id === undefined)
    return {
      round: '',
      steps: [],
      waiting: { round: '', phase: 'failed', have: 0, need: 0, missing: [] },
      problems: [],
    }
  const moved = await advance(ctx, id, options)
  const problem = checkResult(ctx.group, moved.view)
  return { round: id, steps: moved.steps, waiting: moved.waiting, problems: problem ? [problem] : [] }
}
