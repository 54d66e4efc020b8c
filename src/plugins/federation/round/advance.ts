/**
 * Moving a round on, as any member can: this member's owed steps (mask and post its bundle once the
 * commit phase has closed; reveal its shares once the mask phase has), and the closings due to
 * anyone (commits.json when every roster member committed or the commit deadline passed,
 * survivors.json likewise for bundles, result.json once t survivors revealed, failed.json when a
 * closing finds fewer than t). Every closing is create-only: a member that finds it taken reads the
 * one that was written first. `force` (`aggregate --now`) closes the open phase with whoever is there.
 */
import { makeBundle } from '../bundle.js'
import { maskVector, revealShares } from '../secagg/index.js'
import { makeResult } from '../result.js'
import { agreementSecret, nowOf, post, type RoundContext } from './context.js'
import { makeEnvelope } from './envelope.js'
import { roundFiles } from './layout.js'
import { canOpen, openSum } from './opening.js'
import { readRound } from './read.js'
import { readState, writeState, type RoundState } from './state.js'
import type { FailedBody, RoundView } from './types.js'
import { isFinished } from './types.js'

export type StepKind = 'commit' | 'closed-commits' | 'bundle' | 'closed-mask' | 'reveal' | 'result' | 'failed'
export interface Step {
  round: string
  step: StepKind
  /** false when another member had written that closing first (it was read instead) */
  wrote: boolean
}

/** What a round waits for after `advance`, for `aggregate` and `pull` to say. */
export interface Waiting {
  round: string
  phase: 'commit' | 'mask' | 'reveal' | 'done' | 'failed'
  have: number
  need: number
  /** who has not acted yet in this phase */
  missing: string[]
  /** when anyone may close the phase without them */
  until?: string
}

export interface AdvanceOptions {
  /** close the open phase now with whoever is there (once) */
  force?: boolean
}

const MAX_STEPS = 12
const OWN = new Set<StepKind>(['commit', 'bundle', 'reveal'])

export async function advance(
  ctx: RoundContext,
  round: string,
  options: AdvanceOptions = {},
): Promise<{ steps: Step[]; view: RoundView; waiting: Waiting }> {
  const steps: Step[] = []
  let force = options.force ?? false
  let state = await readState(ctx.home, ctx.group.group, round)
  let view = await readRound(ctx.exchange, ctx.group, round)
  for (let i = 0; i < MAX_STEPS && view.open && !isFinished(view); i++) {
    const step = await next(ctx, view, state, force)
    if (!step) break
    // this member's own files are posted once a call: one that does not count (rejected) is not retried in a loop
    if (OWN.has(step.kind) && steps.some((s) => s.step === step.kind)) break
    if (step.forced) force = false
    if (step.state) state = step.state
    steps.push({ round, step: step.kind, wrote: step.wrote })
    view = await readRound(ctx.exchange, ctx.group, round)
  }
  return { steps, view, waiting: waitingOf(view) }
}

interface Next {
  kind: StepKind
  wrote: boolean
  forced?: boolean
  state?: RoundState
}

async function next(
  ctx: RoundContext,
  view: RoundView,
  state: RoundState | undefined,
  force: boolean,
): Promise<Next | undefined> {
  const terms = view.open!.body
  const files = roundFiles(view.round)
  const now = nowOf(ctx)
  const me = ctx.member
  const sign = <B>(kind: 'commits' | 'survivors' | 'failed', body: B) =>
    makeEnvelope(
      { kind, group: ctx.group.group, round: view.round, author: me, body, created: now },
      ctx.keys.signing.privateKey,
    )
  const fail = async (phase: FailedBody['phase'], reason: string): Promise<Next> => ({
    kind: 'failed',
    wrote: await post(ctx, files.failed, sign('failed', { phase, reason })),
    forced: force,
  })

  // a commit kept in the state but not on the exchange (the post failed, or the exchange lost it): post it again
  if (state?.posted.commit && !view.closedCommits && !view.commits.has(me)) {
    await post(ctx, files.commit(me), state.posted.commit)
    return { kind: 'commit', wrote: true }
  }

  if (!view.closedCommits) {
    const all = terms.roster.every((r) => view.commits.has(r.id))
    if (!(all || force || now > new Date(terms.commit_until))) return undefined
    const committed = [...view.commits.keys()].sort()
    if (committed.length < terms.t)
      return fail('commit', `only ${committed.length} members committed, fewer than the threshold ${terms.t}`)
    return {
      kind: 'closed-commits',
      wrote: await post(ctx, files.commits, sign('commits', { committed })),
      forced: force,
    }
  }
  const committed = view.closedCommits.body.committed
  const commits = committed.map((id) => view.commits.get(id)!.body)

  // once the mask phase has closed, a late bundle would not count: a dropped member stays dropped
  if (state && !view.closedMask && committed.includes(me) && !view.bundles.has(me)) {
    let bundle = state.posted.bundle
    if (!bundle) {
      const { masked, state: secagg } = maskVector(state.noised, state.secagg, commits)
      bundle = makeBundle(
        {
          group: ctx.group.group,
          round: view.round,
          member: me,
          params: state.params,
          payload: { ...masked },
          created: now,
        },
        ctx.keys.signing.privateKey,
      )
      state = { ...state, secagg, posted: { ...state.posted, bundle } }
      await writeState(ctx.home, state)
    }
    await post(ctx, files.bundle(me), bundle)
    return { kind: 'bundle', wrote: true, state }
  }

  if (!view.closedMask) {
    const all = committed.every((id) => view.bundles.has(id))
    if (!(all || force || now > new Date(terms.mask_until))) return undefined
    const survivors = committed.filter((id) => view.bundles.has(id))
    const dropped = committed.filter((id) => !view.bundles.has(id))
    if (survivors.length < terms.t)
      return fail('mask', `only ${survivors.length} members sent their bundle, fewer than the threshold ${terms.t}`)
    return {
      kind: 'closed-mask',
      wrote: await post(ctx, files.survivors, sign('survivors', { survivors, dropped })),
      forced: force,
    }
  }
  const lists = view.closedMask.body

  if (state && lists.survivors.includes(me) && !view.reveals.has(me)) {
    let reveal = state.posted.reveal
    if (!reveal) {
      const r = revealShares(state.secagg, agreementSecret(ctx), commits, lists)
      reveal = makeEnvelope(
        { kind: 'reveal', group: ctx.group.group, round: view.round, author: me, body: r.reveal, created: now },
        ctx.keys.signing.privateKey,
      )
      state = { ...state, secagg: r.state, posted: { ...state.posted, reveal } }
      await writeState(ctx.home, state)
    }
    await post(ctx, files.reveal(me), reveal)
    return { kind: 'reveal', wrote: true, state }
  }

  if (canOpen(view)) {
    const opened = openSum(ctx.group, view)
    const result = makeResult(
      {
        group: ctx.group.group,
        round: view.round,
        aggregator: me,
        commitments: opened.commitments,
        total: opened.total,
        created: now,
      },
      ctx.keys.signing.privateKey,
    )
    return { kind: 'result', wrote: await post(ctx, files.result, result) }
  }
  if (now > new Date(terms.reveal_until))
    return fail(
      'reveal',
      `only ${view.reveals.size} survivors revealed their shares, fewer than the threshold ${terms.t}`,
    )
  return undefined
}

export function waitingOf(view: RoundView): Waiting {
  const round = view.round
  if (!view.open) return { round, phase: 'failed', have: 0, need: 0, missing: [] }
  const terms = view.open.body
  if (view.failed) return { round, phase: 'failed', have: 0, need: terms.t, missing: [] }
  if (view.result) return { round, phase: 'done', have: view.result.commitments.length, need: terms.t, missing: [] }
  const ids = terms.roster.map((r) => r.id)
  if (!view.closedCommits) {
    const missing = ids.filter((id) => !view.commits.has(id))
    return { round, phase: 'commit', have: view.commits.size, need: terms.t, missing, until: terms.commit_until }
  }
  const committed = view.closedCommits.body.committed
  if (!view.closedMask) {
    const missing = committed.filter((id) => !view.bundles.has(id))
    const have = committed.length - missing.length
    return { round, phase: 'mask', have, need: terms.t, missing, until: terms.mask_until }
  }
  const missing = view.closedMask.body.survivors.filter((id) => !view.reveals.has(id))
  return { round, phase: 'reveal', have: view.reveals.size, need: terms.t, missing, until: terms.reveal_until }
}
