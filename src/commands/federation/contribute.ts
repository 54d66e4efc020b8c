import { Flags } from '@oclif/core'
import { openRoundSession, stepLine, waitingLine } from '../../cli/federation/round-session.js'
import { MiradorError } from '../../engine/errors.js'
import { Accountant } from '../../plugins/federation/accountant.js'
import { contribute } from '../../plugins/federation/round/index.js'
import { Journal } from '../../plugins/learner/journal.js'
import { MiradorCommand } from '../base.js'

const num = (x: number) => String(Number(x.toFixed(4)))

export default class FederationContribute extends MiradorCommand {
  static summary = "Contribute your learner's rating counts to your group's open round (clipped, noised, masked)."
  static description =
    'Counts your ratings per (query type, chain) of the group vocabulary from the learner journal (never text, ' +
    'sessions or paths), clips the vector, adds its share of the noise (differential privacy), spends ε from your ' +
    'budget (refused past it: FEDERATION_BUDGET) and posts your secure-aggregation commit. The noised vector ' +
    'leaves later, masked, when `federation pull` finds the commit phase closed. Opens the next round when none ' +
    'is open. --dry-run prints exactly what would leave and spends nothing.'
  static examples = [
    '<%= config.bin %> federation contribute --dry-run',
    '<%= config.bin %> federation contribute',
    '<%= config.bin %> federation contribute --epsilon 0.5 --json',
  ]
  static flags = {
    epsilon: Flags.string({
      description: "ε of this contribution (0.05 to the round's ε; default the round's, from the group file).",
      helpValue: 'E',
    }),
    round: Flags.string({ description: 'A round in its commit phase (default: the open one).', helpValue: 'ROUND' }),
    'dry-run': Flags.boolean({
      description: 'Print what would leave (the vector, its parameters, the files); send nothing.',
    }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parse(FederationContribute)
    const epsilon = flags.epsilon === undefined ? undefined : Number(flags.epsilon)
    if (epsilon !== undefined && !Number.isFinite(epsilon))
      throw new MiradorError('USAGE', `--epsilon ${flags.epsilon} is not a number`)
    if (flags.round !== undefined && !/^\d{4,}$/.test(flags.round))
      throw new MiradorError('USAGE', `--round ${flags.round} is not a round id (0001, 0002, …)`)
    const s = await openRoundSession((l) => this.logToStderr(l))
    try {
      const records = await new Journal(s.ctx.home).read({ runs: false })
      const accountant = new Accountant({ home: s.ctx.home, policy: s.membership.group.policy })
      const c = await contribute(s.ctx, {
        records,
        accountant,
        ...(epsilon !== undefined ? { epsilon } : {}),
        ...(flags.round ? { round: flags.round } : {}),
        dryRun: flags['dry-run'],
      })
      const budget = await accountant.status()
      if (!this.jsonEnabled()) {
        const p = c.params
        const opens = c.opens ? (c.dryRun ? ' (this would open it)' : ' (you opened it)') : ''
        const head = c.dryRun
          ? `Dry run: nothing is sent and no budget is spent. Round ${c.round}${opens}:`
          : `✓ committed to round ${c.round}${opens}; ε ${num(p.epsilon)} spent, ` +
            `${num(budget.leftEpsilon)} left in ${budget.periodDays} days`
        this.log(head)
        if (c.dryRun) {
          this.log(
            `  ${p.mechanism}, ε ${p.epsilon}${p.delta ? `, δ ${p.delta}` : ''}, clip ${p.clip} (${p.norm}), ` +
              `noise shared by ${p.shares}: noise sd ${num(c.noiseSd)} added to each value below`,
          )
          const w = Math.max(...c.labels.map((l) => l.length))
          c.labels.forEach((l, i) => this.log(`  ${l.padEnd(w)}  ${num(c.clipped[i]!)}`))
          this.log(`  files: ${c.files.join(', ')} (the vector leaves masked, in the bundle)`)
        }
        for (const st of c.steps) this.log(stepLine(st))
        if (c.waiting) this.log(waitingLine(c.waiting))
      }
      return { ...c, budget: { spentEpsilon: budget.spentEpsilon, leftEpsilon: budget.leftEpsilon } }
    } finally {
      await s.close()
    }
  }
}
