import { Args } from '@oclif/core'
import { findChainFile } from '../../cli/chain-files.js'
import { chainDirs } from '../../cli/paths.js'
import { setup } from '../../cli/setup.js'
import { rollback } from '../../plugins/learner/backups.js'
import { MiradorCommand } from '../base.js'

export default class LearnRollback extends MiradorCommand {
  static summary = "Put a chain file back as it was before the learner's last change."
  static description =
    'The learner keeps the previous version of a chain file each time it rewrites it ' +
    '(the last 20, under $MIRADOR_HOME/learner/backups). ' +
    'The rating behind the change no longer counts: `mirador learn report` leaves it out.'
  static examples = ['<%= config.bin %> learn rollback quick-deep']
  static args = { chain: Args.string({ description: 'chain name or file', required: true }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(LearnRollback)
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}) })
    const file = findChainFile(args.chain, chainDirs(s.cwd, s.home), s.cwd)
    const r = s.learner ? await s.learner.rollback(file) : await rollback(file, s.home)
    if (!this.jsonEnabled())
      this.log(r ? `✓ ${file} is back as it was before the last change` : `No earlier version of ${file} is kept.`)
    return { file, rolledBack: !!r, ...(r?.rating ? { undid: r.rating } : {}) }
  }
}
