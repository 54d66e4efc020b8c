/**
 * A whole secure-aggregation round between simulated members on one machine, every message passed
 * through JSON as if written to and read from the exchange's files. Shared by the tests and the bench.
 */
import {
  aggregate,
  maskVector,
  newMemberKeys,
  revealShares,
  shareSecrets,
  type AggregateResult,
  type Commit,
  type KeyPair,
  type MaskedVector,
  type MemberState,
  type Reveal,
} from '../../src/plugins/federation/secagg/index.js'

export const viaFile = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

export interface Member {
  id: string
  keys: KeyPair
}

export function makeMembers(n: number): Member[] {
  return Array.from({ length: n }, (_, i) => ({ id: `m${String(i).padStart(2, '0')}`, keys: newMemberKeys() }))
}

export interface RoundFiles {
  commits: Commit[]
  states: Map<string, MemberState>
  masked: MaskedVector[]
  reveals: Reveal[]
}

export function commitAll(members: Member[], threshold: number, group = 'g1', round = 'r1', scale?: number) {
  const states = new Map<string, MemberState>()
  const commits: Commit[] = []
  for (const m of members) {
    const peers = members.filter((p) => p !== m).map((p) => ({ id: p.id, publicKey: p.keys.publicKey }))
    const { commit, state } = shareSecrets({
      group,
      round,
      me: { id: m.id, privateKey: m.keys.privateKey },
      peers,
      threshold,
      ...(scale === undefined ? {} : { scale }),
    })
    commits.push(viaFile(commit))
    states.set(m.id, viaFile(state))
  }
  return { commits, states }
}

/** Wall time of each phase, all members together (JSON round trips included). */
export interface PhaseTimes {
  commit: number
  mask: number
  reveal: number
  aggregate: number
}

/** Members in `absent` never commit; members in `dropped` commit, then never send a vector. */
export function runRound(
  members: Member[],
  inputs: Map<string, number[]>,
  opts: { threshold: number; absent?: string[]; dropped?: string[]; group?: string; round?: string; scale?: number },
): RoundFiles & { result: AggregateResult; ms: PhaseTimes } {
  const group = opts.group ?? 'g1'
  const round = opts.round ?? 'r1'
  let t = performance.now()
  const lap = (): number => {
    const now = performance.now()
    const d = now - t
    t = now
    return d
  }
  const absent = new Set(opts.absent ?? [])
  const all = commitAll(members, opts.threshold, group, round, opts.scale)
  const commits = all.commits.filter((c) => !absent.has(c.member))
  const states = all.states
  const ms = { commit: lap(), mask: 0, reveal: 0, aggregate: 0 }
  const dropped = new Set([...(opts.dropped ?? []), ...absent])
  const masked: MaskedVector[] = []
  for (const m of members) {
    if (dropped.has(m.id)) continue
    const r = maskVector(inputs.get(m.id)!, states.get(m.id)!, commits)
    masked.push(viaFile(r.masked))
    states.set(m.id, viaFile(r.state))
  }
  ms.mask = lap()
  const survivors = masked.map((v) => v.member)
  const reveals: Reveal[] = []
  for (const m of members) {
    if (dropped.has(m.id)) continue
    const lists = { survivors, dropped: [...(opts.dropped ?? [])] }
    const r = revealShares(states.get(m.id)!, m.keys.privateKey, commits, lists)
    reveals.push(viaFile(r.reveal))
    states.set(m.id, viaFile(r.state))
  }
  ms.reveal = lap()
  const result = aggregate({ group, round, threshold: opts.threshold, commits, masked, reveals })
  ms.aggregate = lap()
  return { commits, states, masked, reveals, result, ms }
}
