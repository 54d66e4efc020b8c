/**
 * A member's contribution to a round (the commit phase): its counts vector over the round's
 * vocabulary, clipped and noised (dp.ts, the round's params), the budget spent (accountant.ts),
 * then the secure-aggregation commit posted, its secrets kept in the member's private state. The
 * noised vector itself leaves only later, masked, in the member's bundle. With no round open (none
 * yet, or the newest one finished) it opens the next one.
 */
import { MiradorError } from '../../../engine/errors.js'
import type { Accountant } from '../accountant.js'
import { clipVector, privacyParams, privatize, type PrivacyParams } from '../dp.js'
import { shareSecrets } from '../secagg/index.js'
import { countsVector, type LearnerRecord } from '../vector.js'
import { makeVocabulary, slotLabels } from '../vocabulary.js'
import { advance, type Step, type Waiting } from './advance.js'
import { agreementSecret, nowOf, post, rawAgreementKey, type RoundContext } from './context.js'
import { makeEnvelope } from './envelope.js'
import { roundFiles } from './layout.js'
import { openTerms, contributionVariance } from './params.js'
import { readRound, roundRoster } from './read.js'
import { listRounds, nextRoundId } from './rounds.js'
import { readState, writeState } from './state.js'
import { isFinished, type OpenBody, type RoundView } from './types.js'

export interface ContributeOptions {
  /** the learner journal's entries (only `rating` and `undo` lines are read) */
  records: readonly LearnerRecord[]
  accountant: Accountant
  /** ε of this contribution, at most the round's (default: the round's) */
  epsilon?: number
  /** a round in its commit phase (default: the open one, or a new one) */
  round?: string
  /** say what would leave and spend nothing */
  dryRun?: boolean
}

export interface Contribution {
  round: string
  /** this call opens (or, dry, would open) the round */
  opens: boolean
  params: PrivacyParams
  /** the standard deviation of the noise added to each slot */
  noiseSd: number
  labels: string[]
  /** the counts after clipping, before noise */
  clipped: number[]
  /** the exchange files this member writes in the round (open.json only when it opens it) */
  files: string[]
  dryRun: boolean
  steps: Step[]
  waiting?: Waiting
}

const roundError = (message: string) => new MiradorError('FEDERATION_ROUND', message)

/** The round to contribute to, its view and terms, and whether it is yet to be opened. */
async function target(ctx: RoundContext, wanted: string | undefined) {
  const rounds = await listRounds(ctx.exchange)
  if (wanted !== undefined) {
    if (!rounds.includes(wanted)) throw roundError(`there is no round ${wanted} on ${ctx.exchange.name}`)
    const view = await readRound(ctx.exchange, ctx.group, wanted)
    if (!view.open) throw roundError(`round ${wanted} has no valid open.json: it cannot take contributions`)
    return { round: wanted, view, terms: view.open.body, opens: false }
  }
  const latest = rounds.at(-1)
  const view = latest ? await readRound(ctx.exchange, ctx.group, latest) : undefined
  if (latest && view?.open && !isFinished(view)) return { round: latest, view, terms: view.open.body, opens: false }
  return { round: nextRoundId(rounds), view: undefined, terms: openTerms(ctx.group, nowOf(ctx)), opens: true }
}

function refuseIfClosed(ctx: RoundContext, round: string, view: RoundView | undefined, terms: OpenBody): void {
  if (view && (view.closedCommits || isFinished(view)))
    throw roundError(
      `round ${round} is past its commit phase; run \`mirador federation pull\` until it finishes, then contribute`,
    )
  if (view?.commits.has(ctx.member)) throw roundError(`you already contributed to round ${round}`)
  if (!terms.roster.some((r) => r.id === ctx.member))
    throw roundError(`you (${ctx.member}) joined after round ${round} opened; contribute to the next round`)
  const roster = roundRoster(ctx.group, terms)
  if (roster.members.length !== terms.roster.length)
    throw roundError(
      `the group file changed since round ${round} opened (a member left or changed keys); ` +
        'it cannot take contributions: wait for the next round',
    )
}

export async function contribute(ctx: RoundContext, options: ContributeOptions): Promise<Contribution> {
  await ctx.exchange.sync()
  const found = await target(ctx, options.round)
  const round = found.round
  let { view, terms, opens } = found
  refuseIfClosed(ctx, round, view, terms)
  if ((await readState(ctx.home, ctx.group.group, round)) !== undefined)
    throw roundError(`you already contributed to round ${round} (its secrets are kept on this machine)`)
  const epsilon = options.epsilon ?? terms.params.epsilon
  if (epsilon > terms.params.epsilon)
    throw new MiradorError(
      'FEDERATION_PARAMS',
      `--epsilon ${epsilon} is more than round ${round}'s ε ${terms.params.epsilon}; give a smaller one or none`,
    )
  const params = privacyParams({ ...terms.params, epsilon })
  const vocabulary = makeVocabulary(terms.vocabulary.queryTypes, terms.vocabulary.chains)
  const counts = countsVector(options.records, vocabulary)
  const files = roundFiles(round)
  const base = {
    params,
    noiseSd: Math.sqrt(contributionVariance(params)),
    labels: slotLabels(vocabulary),
    clipped: clipVector(counts, params.clip, params.norm),
    files: [
      ...(opens ? [files.open] : []),
      files.commit(ctx.member),
      files.bundle(ctx.member),
      files.reveal(ctx.member),
    ],
  }
  // refused before anything is written, not even open.json
  await options.accountant.check(params.epsilon, params.delta)
  if (options.dryRun) return { round, opens, ...base, dryRun: true, steps: [] }

  if (opens) {
    const open = makeEnvelope(
      { kind: 'open', group: ctx.group.group, round, author: ctx.member, body: terms, created: nowOf(ctx) },
      ctx.keys.signing.privateKey,
    )
    if (!(await post(ctx, files.open, open))) {
      // another member opened it first: take its terms
      const theirs = await readRound(ctx.exchange, ctx.group, round)
      if (!theirs.open) throw roundError(`round ${round} was opened by another member with an invalid open.json`)
      ;({ view, terms, opens } = { view: theirs, terms: theirs.open.body, opens: false })
      refuseIfClosed(ctx, round, view, terms)
    }
  }
  await options.accountant.spend(`${ctx.group.group}/${round}`, params.epsilon, params.delta)
  const noised = privatize(counts, params)
  const peers = roundRoster(ctx.group, terms)
    .members.filter((m) => m.id !== ctx.member)
    .map((m) => ({ id: m.id, publicKey: rawAgreementKey(m.agreement_key) }))
  const { commit, state } = shareSecrets({
    group: ctx.group.group,
    round,
    me: { id: ctx.member, privateKey: agreementSecret(ctx) },
    peers,
    threshold: terms.t,
    scale: terms.scale,
  })
  const envelope = makeEnvelope(
    { kind: 'commit', group: ctx.group.group, round, author: ctx.member, body: commit, created: nowOf(ctx) },
    ctx.keys.signing.privateKey,
  )
  await writeState(ctx.home, {
    v: 1,
    group: ctx.group.group,
    round,
    member: ctx.member,
    noised,
    params,
    secagg: state,
    posted: { commit: envelope },
  })
  await post(ctx, files.commit(ctx.member), envelope)
  const moved = await advance(ctx, round)
  return { round, opens, ...base, dryRun: false, steps: moved.steps, waiting: moved.waiting }
}
