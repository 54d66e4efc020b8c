import { Args, Flags } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import { MiradorCommand } from '../base.js'
import type { InstallResult } from '../../plugin-store/install-flow.js'

export default class PluginsInstall extends MiradorCommand {
  static summary = 'Install a plugin from npm, a folder or a .tgz, checked and pinned, and enable it.'
  static description =
    'Fetches the plugin (an npm package with its registry integrity and signatures checked, a folder packed as ' +
    'npm would publish it, or a .tgz) into $MIRADOR_HOME/plugins, with its dependencies, never running a ' +
    'script (a plugin that needs an install script, or whose dependencies do, is refused). Runs `plugins check` ' +
    'on it and its dependencies, shows the hooks, permissions and capabilities it asks for and what the checks ' +
    'found, and asks before enabling it in $MIRADOR_HOME/config.yaml; --yes does not ask, and with no terminal ' +
    '--yes is required. The lock file ($MIRADOR_HOME/plugins/plugins.lock.json) pins its version, integrity ' +
    'and the sha256 of each file. The allow/deny list ($MIRADOR_HOME/plugins/policy.json) is honoured.'
  static examples = [
    '<%= config.bin %> plugins install mirador-plugin-today',
    '<%= config.bin %> plugins install mirador-plugin-today@1.2.0 --yes',
    '<%= config.bin %> plugins install ./my-plugin',
    '<%= config.bin %> plugins install ./my-plugin-1.0.0.tgz --yes --json',
  ]
  static args = {
    spec: Args.string({ description: 'an npm package name (name@version), a folder, or a .tgz', required: true }),
  }
  static flags = {
    yes: Flags.boolean({
      char: 'y',
      description: 'enable it without asking (required with no terminal)',
      default: false,
    }),
  }

  async run(): Promise<InstallResult> {
    const { args, flags } = await this.parse(PluginsInstall)
    const { installPlugin } = await import('../../plugin-store/install-flow.js')
    const result = await installPlugin(args.spec, {
      yes: flags.yes,
      command: `mirador plugins install ${args.spec}`,
      log: this.jsonEnabled() ? () => {} : (line) => this.log(line),
    })
    if (result.refused)
      throw new MiradorError('PLUGIN_INSTALL', `${result.name} is refused: ${result.refused.join('; ')}.`, {
        details: { plugin: result.name, check: result.check },
      })
    if (!result.installed && !this.jsonEnabled()) this.log('Not installed.')
    return result
  }
}
