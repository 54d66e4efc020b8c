import { roundsOn } from '../../cli/federation/rounds.js'
import { statusLines, type FederationStatus } from '../../cli/federation/status-text.js'
import { miradorHome } from '../../cli/paths.js'
import { Accountant } from '../../plugins/federation/accountant.js'
import { loadMembership } from '../../plugins/federation/membership.js'
import { MiradorCommand } from '../base.js'

const DAY = 86_400_000

export default class FederationStatusCommand extends MiradorCommand {
  static summary = 'Your federation group: its members, the rounds on its exchange, your privacy budget.'
  static description =
    'Shows the group this Mirador is in, its exchange, you and the other members, the threshold, each round on ' +
    'the exchange (its phase from the files there: commit, mask, reveal, done or failed, and how many commits, ' +
    'bundles and reveals it has) and the privacy budget you spent, have left, and when it frees up. An exchange ' +
    'that cannot be reached (offline, MIRADOR_OFFLINE) shows its rounds as unknown. Exit status 1 when this ' +
    'Mirador is in no group.'
  static examples = ['<%= config.bin %> federation status', '<%= config.bin %> federation status --json']

  async run(): Promise<unknown> {
    await this.parse(FederationStatusCommand)
    const home = miradorHome()
    const m = await loadMembership(home)
    const n = m.group.value.members.length
    const offline = /^(1|true|yes|on)$/i.test(process.env.MIRADOR_OFFLINE ?? '')
    const found = await roundsOn(m.exchange, { home, member: m.member, offline })
    const budget = await new Accountant({ home, policy: m.group.policy }).status()
    const oldest = budget.spends[0]
    const status: FederationStatus = {
      group: m.group.group,
      groupFile: m.groupFile,
      exchange: m.exchange,
      member: m.member,
      members: m.group.value.members.map((x) => ({ id: x.id, you: x.id === m.member })),
      threshold: m.group.value.threshold,
      roundThreshold: Math.max(m.group.value.threshold, Math.floor(n / 2) + 1),
      rounds: found.rounds,
      ...('unknown' in found ? { roundsUnknown: found.unknown } : {}),
      budget: {
        spentEpsilon: budget.spentEpsilon,
        leftEpsilon: budget.leftEpsilon,
        budget: m.group.policy.budget,
        periodDays: budget.periodDays,
        frees: oldest ? new Date(oldest.at + budget.periodDays * DAY).toISOString() : null,
      },
    }
    if (!this.jsonEnabled()) for (const line of statusLines(status)) this.log(line)
    return status
  }
}
