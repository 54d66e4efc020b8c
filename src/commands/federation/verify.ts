import { Flags } from '@oclif/core'
import { openRoundSession } from '../../cli/federation/round-session.js'
import { verifyExchange } from '../../plugins/federation/round/index.js'
import { MiradorCommand } from '../base.js'

export default class FederationVerify extends MiradorCommand {
  static summary = "Check every file of every round on the group's exchange, and recompute every result."
  static description =
    'Each file must be signed by a member on the round roster, for this group and round, named for its author ' +
    'and consistent with the round (bundles: their privacy parameters; closings: the members they name); each ' +
    'result is recomputed from the files (the opened total, the commitments of the bundles summed, their Merkle ' +
    'root). Lists every problem with its reason (tampered, replayed, foreign, out of round…); exit status 1 on any.'
  static examples = [
    '<%= config.bin %> federation verify',
    '<%= config.bin %> federation verify --exchange /mnt/backup/garden-club --json',
  ]
  static flags = {
    exchange: Flags.string({
      description: "Another copy of the group's exchange to check (a folder, git+URL or https:// URL).",
      helpValue: 'DIR',
    }),
  }

  async run(): Promise<unknown> {
    const { flags } = await this.parse(FederationVerify)
    const s = await openRoundSession((l) => this.logToStderr(l), flags.exchange)
    try {
      await s.ctx.exchange.sync()
      const r = await verifyExchange(s.ctx.exchange, s.membership.group)
      if (!this.jsonEnabled()) {
        if (!r.rounds.length) this.log(`No rounds on ${s.ctx.exchange.name} yet.`)
        for (const round of r.rounds) {
          const mark = round.problems.length ? '✗' : '✓'
          this.log(
            `${mark} round ${round.round}: ${round.phase}` +
              (round.phase === 'done' ? `, ${round.counted} contributions summed` : '') +
              (round.problems.length ? `, ${round.problems.length} problems` : ''),
          )
          for (const p of round.problems) this.log(`  ✗ ${p.file}: ${p.reason}: ${p.message}`)
        }
      }
      if (r.problems.length) process.exitCode = 1
      return { exchange: s.ctx.exchange.name, ...r }
    } finally {
      await s.close()
    }
  }
}
