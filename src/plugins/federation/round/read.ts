/**
 * Reads one round from the exchange and keeps only what verifies: every file is checked (signed by
 * a member on the round's roster, for this group and round, named for its author, consistent with
 * the round's terms and closings) and the others are listed as problems with their reason. A
 * tampered, replayed, foreign or out-of-round file never counts.
 */
import type { Roster } from '../bundle.js'
import { newSeen, verifyBundle, type Bundle } from '../bundle.js'
import { canonicalJson } from '../canonical.js'
import { MiradorError } from '../../../engine/errors.js'
import type { Exchange } from '../exchange/index.js'
import type { Group } from '../group.js'
import { verifyResult, type RoundResult } from '../result.js'
import type { Commit, MaskedVector, Reveal } from '../secagg/index.js'
import { checkEnvelope, decode, type EnvelopeKind, type Envelope } from './envelope.js'
import { parseMemberFile, roundFiles } from './layout.js'
import { rosterOf } from './params.js'
import type { CommitsBody, FailedBody, OpenBody, Problem, RoundView, SurvivorsBody } from './types.js'

const isIds = (x: unknown): x is string[] =>
  Array.isArray(x) && x.every((s) => typeof s === 'string') && canonicalJson([...x].sort()) === canonicalJson(x)
const sameList = (a: readonly string[], b: readonly string[]) => canonicalJson(a) === canonicalJson(b)

function openShape(b: Partial<OpenBody>): boolean {
  return (
    Array.isArray(b.roster) &&
    b.roster.every((r) => typeof r?.id === 'string' && typeof r.signing === 'string') &&
    Number.isInteger(b.t) &&
    typeof b.params === 'object' &&
    Number.isInteger(b.scale) &&
    Array.isArray(b.vocabulary?.queryTypes) &&
    Array.isArray(b.vocabulary?.chains) &&
    [b.commit_until, b.mask_until, b.reveal_until].every((d) => typeof d === 'string' && !isNaN(Date.parse(d)))
  )
}

/** The group file's members still holding the keys the round's opener saw: who may sign in the round. */
export function roundRoster(group: Group, open: OpenBody): { group: string; members: Group['value']['members'] } {
  const now = new Map(rosterOf(group).map((r) => [r.id, r]))
  const ids = new Set(
    open.roster
      .filter((r) => now.get(r.id)?.signing === r.signing && now.get(r.id)?.agreement === r.agreement)
      .map((r) => r.id),
  )
  return { group: group.group, members: group.value.members.filter((m) => ids.has(m.id)) }
}

export async function readRound(exchange: Exchange, group: Group, round: string): Promise<RoundView> {
  const paths = roundFiles(round)
  const view: RoundView = { round, commits: new Map(), bundles: new Map(), reveals: new Map(), problems: [] }
  const names = await exchange.list(paths.dir)
  const problem = (name: string, reason: Problem['reason'], message: string) =>
    view.problems.push({ file: `${paths.dir}/${name}`, reason, message })
  const load = async (name: string): Promise<unknown> => {
    const bytes = await exchange.get(`${paths.dir}/${name}`)
    const x = bytes && decode(bytes)
    if (x === undefined) problem(name, 'malformed', bytes ? 'not JSON' : 'it vanished while being read')
    return x
  }
  const envelope = async <B>(name: string, kind: EnvelopeKind, roster: Roster, member?: string) => {
    const x = await load(name)
    if (x === undefined) return undefined
    const c = checkEnvelope(x, kind, roster, round, member)
    if (!c.ok) {
      problem(name, c.reason, c.message)
      return undefined
    }
    return c.value as Envelope<B>
  }

  if (!names.includes('open.json')) {
    for (const n of names) problem(n, 'inconsistent', 'the round has no open.json')
    return view
  }
  const groupRoster: Roster = { group: group.group, members: group.value.members }
  const open = await envelope<OpenBody>('open.json', 'open', groupRoster)
  if (open && !openShape(open.body)) problem('open.json', 'malformed', 'not the terms of a round')
  else view.open = open
  if (!view.open) {
    for (const n of names.filter((n) => n !== 'open.json'))
      problem(n, 'inconsistent', 'the round has no valid open.json')
    return view
  }
  const terms = view.open.body
  const roster = roundRoster(group, terms)
  const byKind = (k: string) => names.map((n) => [n, parseMemberFile(n)] as const).filter(([, p]) => p?.kind === k)
  const known = new Set(['open.json', 'commits.json', 'survivors.json', 'result.json', 'failed.json'])
  for (const n of names) if (!known.has(n) && !parseMemberFile(n)) problem(n, 'malformed', 'not a file of a round')

  for (const [name, p] of byKind('commit')) {
    const e = await envelope<Commit>(name, 'commit', roster, p!.member)
    if (!e) continue
    const c = e.body
    if (!(c?.v === 1 && c.group === group.group && c.round === round && c.member === e.author)) {
      problem(name, 'malformed', 'its body is not a commit of this member for this round')
      continue
    }
    if (c.threshold !== terms.t || typeof c.shares !== 'object' || typeof c.maskPublicKey !== 'string') {
      problem(name, 'inconsistent', `a commit with threshold ${c.threshold}, not the round's ${terms.t}`)
      continue
    }
    view.commits.set(e.author, e)
  }

  if (names.includes('commits.json')) {
    const e = await envelope<CommitsBody>('commits.json', 'commits', roster)
    const ids = e?.body?.committed
    if (e && !isIds(ids)) problem('commits.json', 'malformed', 'its committed members are not a sorted list of ids')
    else if (e && ids!.some((id) => !view.commits.has(id)))
      problem('commits.json', 'inconsistent', 'it names members without a valid commit')
    else if (e && ids!.length < terms.t)
      problem('commits.json', 'inconsistent', `it closes with ${ids!.length} members, fewer than t = ${terms.t}`)
    else if (e) view.closedCommits = e
  }
  const committed = view.closedCommits?.body.committed

  const seen = newSeen()
  for (const [name, p] of byKind('bundle')) {
    const x = await load(name)
    if (x === undefined) continue
    // checked against a copy: a bundle copied under another member's name must not make the real one a "replay"
    const trial = { commitments: new Set(seen.commitments), members: new Set(seen.members) }
    const v = verifyBundle(x, roster, round, trial)
    if (!v.ok) {
      problem(name, v.reason, v.message)
      continue
    }
    const b = x as Bundle & { payload: MaskedVector }
    const why = bundleProblem(b, p!.member, terms, committed)
    if (why) problem(name, why[0], why[1])
    else {
      view.bundles.set(b.member, { bundle: b, commitment: v.commitment })
      seen.commitments.add(v.commitment)
      seen.members.add(b.member)
    }
  }

  if (names.includes('survivors.json')) {
    const e = await envelope<SurvivorsBody>('survivors.json', 'survivors', roster)
    if (e) {
      const { survivors, dropped } = e.body ?? {}
      if (!isIds(survivors) || !isIds(dropped)) problem('survivors.json', 'malformed', 'not two sorted lists of ids')
      else if (!committed || !sameList([...survivors, ...dropped].sort(), committed))
        problem('survivors.json', 'inconsistent', 'its survivors and dropped members do not split the committed ones')
      else if (survivors.some((id) => !view.bundles.has(id)))
        problem('survivors.json', 'inconsistent', 'it names survivors without a valid bundle')
      else if (survivors.length < terms.t)
        problem('survivors.json', 'inconsistent', `it has ${survivors.length} survivors, fewer than t = ${terms.t}`)
      else view.closedMask = e
    }
  }

  for (const [name, p] of byKind('reveal')) {
    const e = await envelope<Reveal>(name, 'reveal', roster, p!.member)
    if (!e) continue
    const r = e.body
    const lists = view.closedMask?.body
    if (!(r?.v === 1 && r.group === group.group && r.round === round && r.member === e.author))
      problem(name, 'malformed', 'its body is not a reveal of this member for this round')
    else if (!lists || !lists.survivors.includes(r.member))
      problem(name, 'inconsistent', `${r.member} is not a survivor of the round`)
    else if (!sameList(r.survivors, lists.survivors) || !sameList(r.dropped, lists.dropped))
      problem(name, 'inconsistent', 'it was made for other survivor and dropped lists than survivors.json')
    else view.reveals.set(r.member, e)
  }

  if (names.includes('result.json')) {
    const x = await load('result.json')
    if (x !== undefined) {
      try {
        view.result = verifyResult(x as RoundResult, roster, round)
      } catch (err) {
        const m = MiradorError.from(err).message
        problem(
          'result.json',
          /not in the group file/.test(m) ? 'foreign' : /verify/.test(m) ? 'bad-signature' : 'inconsistent',
          m,
        )
      }
    }
  }
  if (names.includes('failed.json')) {
    const e = await envelope<FailedBody>('failed.json', 'failed', roster)
    if (e) view.failed = e
  }
  return view
}

function bundleProblem(
  b: Bundle & { payload: MaskedVector },
  member: string,
  terms: OpenBody,
  committed: readonly string[] | undefined,
): [Problem['reason'], string] | undefined {
  if (b.member !== member) return ['bad-signature', `it is ${member}'s file but signed by ${b.member}`]
  const p = b.params
  const r = terms.params
  if (
    p.mechanism !== r.mechanism ||
    p.clip !== r.clip ||
    p.delta !== r.delta ||
    p.shares !== r.shares ||
    !(p.epsilon <= r.epsilon)
  )
    return [
      'bad-params',
      `its privacy parameters are not the round's (ε at most ${r.epsilon}, ${r.mechanism}, clip ${r.clip})`,
    ]
  const m = b.payload
  if (
    !(m && m.v === 1 && m.group === b.group && m.round === b.round && m.member === b.member && m.scale === terms.scale)
  )
    return ['malformed', 'its payload is not a masked vector of this member for this round']
  if (!committed || !committed.includes(b.member) || !sameList(m.committed, committed))
    return ['inconsistent', 'it was masked against other members than the committed ones in commits.json']
  return undefined
}
