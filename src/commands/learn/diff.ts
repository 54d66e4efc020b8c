import { Args } from '@oclif/core'
import { findChainFile } from '../../cli/chain-files.js'
import { chainDirs } from '../../cli/paths.js'
import { setup } from '../../cli/setup.js'
import { safeText } from '../../cli/render/format.js'
import { weightDiff } from '../../plugins/learner/diff.js'
import { MiradorCommand } from '../base.js'

export default class LearnDiff extends MiradorCommand {
  static summary = 'Show what the learner last changed in a chain file.'
  static examples = ['<%= config.bin %> learn diff quick-deep', '<%= config.bin %> learn diff chains/mine.yaml --json']
  static args = { chain: Args.string({ description: 'chain name or file', required: true }) }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(LearnDiff)
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}) })
    const file = findChainFile(args.chain, chainDirs(s.cwd, s.home), s.cwd)
    const d = await weightDiff(file, s.home)
    if (!this.jsonEnabled())
      this.log(d ? safeText(d.text) || 'No change since the last backup.' : 'The learner has not changed this file.')
    return d ?? null
  }
}
