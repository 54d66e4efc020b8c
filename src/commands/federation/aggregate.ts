import { Args, Flags } from '@oclif/core'
import { openRoundSession, stepLine, waitingLine } from '../../cli/federation/round-session.js'
import { MiradorError } from '../../engine/errors.js'
import { aggregateRound } from '../../plugins/federation/round/index.js'
import { MiradorCommand } from '../base.js'

export default class FederationAggregate extends MiradorCommand {
  static summary = 'Move one round on: close its due phases and open its sum (any member; deterministic).'
  static description =
    'Does for one round (default: the newest) what pull does for all: your owed steps, the closings that are due ' +
    'and the opening of the sum once enough shares are revealed. Every member computes the same closings and ' +
    'result. --now closes the open phase (commit or mask) with whoever is there, without waiting for its ' +
    'deadline. When the round cannot go on yet it says what it waits for, with exit status 0 (--json: ' +
    '`waiting`); exit status 1 only when its result does not verify.'
  static examples = [
    '<%= config.bin %> federation aggregate',
    '<%= config.bin %> federation aggregate 0003 --now',
    '<%= config.bin %> federation aggregate --json',
  ]
  static args = { round: Args.string({ description: 'the round id (default: the newest)', required: false }) }
  static flags = {
    now: Flags.boolean({ description: 'Close the open phase now with the members that acted.' }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(FederationAggregate)
    if (args.round !== undefined && !/^\d{4,}$/.test(args.round))
      throw new MiradorError('USAGE', `${args.round} is not a round id (0001, 0002, …)`)
    const s = await openRoundSession((l) => this.logToStderr(l))
    try {
      const r = await aggregateRound(s.ctx, args.round, { force: flags.now })
      if (!r.round)
        throw new MiradorError('FEDERATION_ROUND', 'there is no round yet: `mirador federation contribute` opens one')
      if (!this.jsonEnabled()) {
        for (const st of r.steps) this.log(stepLine(st))
        this.log(waitingLine(r.waiting))
        for (const p of r.problems) this.log(`✗ ${p.file}: ${p.reason}: ${p.message}`)
      }
      if (r.problems.length) process.exitCode = 1
      return r
    } finally {
      await s.close()
    }
  }
}
