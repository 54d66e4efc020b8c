import { Args, Flags } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import { MiradorCommand } from '../base.js'

export const SHELLS = ['bash', 'zsh']

export function shellOf(given: string | undefined, detected: string): string {
  const shell = given ?? detected
  if (!SHELLS.includes(shell)) {
    throw new MiradorError('USAGE', `completion is for bash and zsh, not "${shell}": mirador autocomplete bash|zsh`)
  }
  return shell
}

export default class Autocomplete extends MiradorCommand {
  static summary =
    'Set up shell completion (bash, zsh): commands, flags, and chain, model, tool, profile, session names.'
  static description =
    'Writes the completion scripts (under the cache folder, ~/.cache/mirador/autocomplete) and prints how to ' +
    'enable them. Besides commands and flags, TAB offers the names your files hold: chains after `chain run`, ' +
    '`chain show` and `chain copy`; models after `models load`, `unload` and `verify`; tools after `tools run`; ' +
    'energy profiles after --profile; sessions after --session, `session show` and `session rm`. The names are ' +
    'read at each TAB (`mirador __complete KIND`), so new chains and sessions are offered at once; session names ' +
    'are opened with the memory key as `session ls` opens them and never stored in plaintext. After upgrading ' +
    'Mirador, run `mirador autocomplete --refresh-cache` for its new commands and flags. See docs/completion.md.'
  static examples = [
    '<%= config.bin %> autocomplete bash',
    '<%= config.bin %> autocomplete zsh',
    'printf "$(<%= config.bin %> autocomplete script bash)" >> ~/.bashrc; source ~/.bashrc',
    '<%= config.bin %> autocomplete --refresh-cache   # after an upgrade',
  ]
  static enableJsonFlag = false
  static args = { shell: Args.string({ description: 'bash or zsh (default: the shell you use)', required: false }) }
  static flags = {
    'refresh-cache': Flags.boolean({
      char: 'r',
      description: 'Rewrite the scripts without printing the instructions.',
    }),
  }

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Autocomplete)
    const shell = shellOf(args.shell, this.config.shell)
    const { printInstructions, writeScripts } = await import('./plugin.js')
    const files = await writeScripts(this.config)
    if (flags['refresh-cache']) this.log(`✓ completion scripts written: ${files.bash}, ${files.zsh}`)
    else await printInstructions(this.config, shell)
  }
}
