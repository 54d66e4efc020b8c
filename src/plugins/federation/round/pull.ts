/**
 * `federation pull` and `aggregate` as library calls: bring in the others' files, do this member's
 * owed steps and the due closings in open rounds, and turn the newest verified result into
 * prior.json.
 */
import { MiradorError } from '../../../engine/errors.js'
import { advance, type AdvanceOptions, type Step, type Waiting } from './advance.js'
import type { RoundContext } from './context.js'
import { checkResult } from './opening.js'
import {
  openedAt,
  PRIOR_ROUNDS,
  priorOf,
  roundTotal,
  sameVocabulary,
  windowStart,
  writePrior,
  type Prior,
} from './prior.js'
import { readRound } from './read.js'
import { listRounds, roundListings } from './rounds.js'
import { isFinished, type Problem, type RoundView } from './types.js'

export interface PullReport {
  steps: Step[]
  /** what each round still open waits for */
  waiting: Waiting[]
  /** the prior written: the average of the newest results that recompute, within the group's period_days */
  prior?: Prior
  priorFile?: string
  /** rounds that could not go on, and the newest result's problems (a result that does not recompute is not used) */
  problems: Problem[]
}

/**
 * Rounds that have a result.json or failed.json are finished and not read again (their closing is
 * create-only: nothing can change them), except the newest results, read and recomputed for the
 * prior: from the newest that verifies back to the start of its window (period_days), at most
 * PRIOR_ROUNDS of them. So a pull reads the open rounds and a window's results, not the whole history.
 */
export async function pull(ctx: RoundContext): Promise<PullReport> {
  await ctx.exchange.sync()
  const report: PullReport = { steps: [], waiting: [], problems: [] }
  const withResult: string[] = []
  for (const { round, names } of await roundListings(ctx.exchange)) {
    if (names.includes('result.json') || names.includes('failed.json')) {
      if (names.includes('result.json')) withResult.push(round)
      continue
    }
    try {
      const moved = await advance(ctx, round)
      report.steps.push(...moved.steps)
      if (moved.view.result) withResult.push(round)
      else if (!isFinished(moved.view) && moved.view.open) report.waiting.push(moved.waiting)
    } catch (err) {
      // one round that cannot go on (a share that does not reconstruct…) must not stop the others
      if (!MiradorError.is(err) || !err.code.startsWith('FEDERATION_')) throw err
      report.problems.push({ file: `rounds/${round}`, reason: 'inconsistent', message: err.message })
    }
  }
  // the newest result that verifies, then the older ones of its window (results never change)
  const chosen: RoundView[] = []
  for (const round of withResult.reverse()) {
    const view = await readRound(ctx.exchange, ctx.group, round)
    const problem = view.result
      ? checkResult(ctx.group, view)
      : view.problems.find((p) => p.file.endsWith('/result.json'))
    if (chosen[0]) {
      if (openedAt(view) < windowStart(ctx.group, chosen[0])) break
      if (!sameVocabulary(chosen[0], view)) continue
    }
    if (problem) report.problems.push(problem)
    else if (roundTotal(view)) chosen.push(view)
    if (chosen.length === PRIOR_ROUNDS) break
  }
  const prior = priorOf(ctx.group, chosen)
  if (prior) {
    report.prior = prior
    report.priorFile = await writePrior(ctx.home, prior)
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
