import { Args, Flags } from '@oclif/core'
import { rateLine } from '../cli/rate-line.js'
import { setup } from '../cli/setup.js'
import { MiradorError } from '../engine/errors.js'
import { MiradorCommand } from './base.js'

export default class Rate extends MiradorCommand {
  static summary = 'Rate an answer 1–5; Mirador learns which chain suits which kind of question.'
  static description =
    'The rating goes to the append-only journal ($MIRADOR_HOME/learner/journal.jsonl) ' +
    "and moves the chain's weight for the run's query type, written back into the chain file " +
    "(a 4 or 5 counts as a success; a shipped chain's weights go to your copy in $MIRADOR_HOME/chains). " +
    'Rating a run again replaces its earlier rating. ' +
    '`mirador learn diff` shows what changed and `mirador learn rollback` undoes it.'
  static examples = [
    '<%= config.bin %> rate r_mwyf2k3x9a1b2c 5',
    '<%= config.bin %> rate --last 2',
    '<%= config.bin %> rate --last 4 --json',
  ]
  static args = {
    run: Args.string({
      description: "the run id (from the run's first line or its events); with --last, the rating",
      required: true,
    }),
    rating: Args.string({ description: 'the rating, 1 to 5', required: false }),
  }
  static flags = { last: Flags.boolean({ description: 'Rate the most recent run: mirador rate --last RATING.' }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Rate)
    if (flags.last && args.rating !== undefined)
      throw new MiradorError(
        'USAGE',
        `--last rates the most recent run: give only the rating (mirador rate --last ${args.rating}), ` +
          `or a run id and a rating (mirador rate RUN_ID ${args.rating})`,
      )
    // a rating reaches the plugins that tap feedback, third-party ones too
    const s = await setup({ thirdParty: true, ...(flags.config ? { config: flags.config as string } : {}) })
    try {
      if (!s.learner)
        throw new MiradorError(
          'USAGE',
          'the learner is turned off (builtins: { learner: false } in mirador.config.yaml)',
        )
      let runId = args.run
      let ratingText = args.rating
      if (flags.last) {
        ratingText = args.run
        const last = await s.learner.journal().lastRun()
        if (!last) throw new MiradorError('USAGE', 'no recorded run to rate yet (runs are recorded when memory is on)')
        runId = last.runId
      }
      const rating = Number(ratingText)
      if (ratingText === undefined || !Number.isInteger(rating) || rating < 1 || rating > 5)
        throw new MiradorError('USAGE', 'give a rating from 1 to 5: mirador rate RUN_ID 4, or mirador rate --last 4')
      await s.engine.hooks.feedback.promise({ runId, rating })
      const result = s.learner.lastRateResult(runId)
      if (!this.jsonEnabled() && result) this.log(rateLine(result))
      return result
    } finally {
      // sandboxed plugins' hosts stop with the engine
      await s.engine.dispose()
    }
  }
}
