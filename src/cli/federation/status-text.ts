/** `federation status` as lines for a terminal (the --json shape is FederationStatus itself). */
import type { RoundSummary } from './rounds.js'

export interface FederationStatus {
  group: string
  groupFile: string
  exchange: string
  member: string
  members: { id: string; you: boolean }[]
  /** the group file's threshold: a minimum */
  threshold: number
  /** the t a round opened now would have: max(threshold, a majority of the members) */
  roundThreshold: number
  /** null when the exchange could not be read (`roundsUnknown` says why) */
  rounds: RoundSummary[] | null
  roundsUnknown?: string
  budget: {
    spentEpsilon: number
    leftEpsilon: number
    budget: number
    periodDays: number
    /** when the oldest spend in the window stops counting (ISO), null when nothing is spent */
    frees: string | null
  }
}

const num = (x: number) => String(Number(x.toFixed(4)))

function roundLine(r: RoundSummary): string {
  return `${r.round}  ${r.phase.padEnd(7)} ${r.commits} commits, ${r.bundles} bundles, ${r.reveals} reveals`
}

export function statusLines(s: FederationStatus): string[] {
  const n = s.members.length
  const roster = s.members.map((m) => (m.you ? `${m.id} (you)` : m.id)).join(', ')
  const b = s.budget
  return [
    `group      ${s.group}  (${s.groupFile})`,
    `exchange   ${s.exchange}`,
    `you        ${s.member}`,
    `members    ${n}: ${roster}`,
    `threshold  ${s.threshold} at least; a round opened now needs ${s.roundThreshold} contributions` +
      (n < 2 ? ' (and a second member)' : n < s.roundThreshold ? ` (the group has ${n})` : ''),
    ...(s.rounds === null
      ? [`rounds     ${s.roundsUnknown ?? 'unknown'}`]
      : s.rounds.length === 0
        ? ['rounds     none yet (`mirador federation contribute` opens the first)']
        : ['rounds', ...s.rounds.map((r) => `  ${roundLine(r)}`)]),
    `budget     ε ${num(b.spentEpsilon)} of ${num(b.budget)} spent in the last ${b.periodDays} days, ` +
      `${num(b.leftEpsilon)} left` +
      (b.frees ? `; the oldest spend frees up at ${b.frees}` : ''),
  ]
}
