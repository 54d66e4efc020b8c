import { Args } from '@oclif/core'
import { MiradorCommand } from '../base.js'
import { shellOf } from './index.js'

export default class AutocompleteScript extends MiradorCommand {
  static summary = 'Print the line that loads the completion scripts, for ~/.bashrc or ~/.zshrc.'
  static hidden = true
  static enableJsonFlag = false
  static args = { shell: Args.string({ description: 'bash or zsh (default: the shell you use)', required: false }) }

  async run(): Promise<void> {
    const { args } = await this.parse(AutocompleteScript)
    const { runScript } = await import('./plugin.js')
    await runScript(this.config, shellOf(args.shell, this.config.shell))
  }
}
