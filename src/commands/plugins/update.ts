import { Args, Flags } from '@oclif/core'
import { MiradorError } from '../../engine/errors.js'
import { MiradorCommand } from '../base.js'
import type { InstallResult } from '../../plugin-store/install-flow.js'

export default class PluginsUpdate extends MiradorCommand {
  static summary = 'Update an installed plugin from where it came from, checked and pinned again.'
  static description =
    'Fetches NAME again from its source: an npm plugin at its latest version (or --to VERSION or range), a ' +
    'folder or a .tgz from the same path. When the content differs from what is pinned, it goes through the ' +
    'same checks as `install`, shows what the new version asks for and found, and asks before replacing the ' +
    'installed one (--yes does not ask; with no terminal --yes is required).'
  static examples = [
    '<%= config.bin %> plugins update mirador-plugin-today',
    '<%= config.bin %> plugins update mirador-plugin-today --to 1.2.0 --yes',
    '<%= config.bin %> plugins update my-plugin --yes --json',
  ]
  static args = { name: Args.string({ description: 'the installed plugin (package name)', required: true }) }
  static flags = {
    yes: Flags.boolean({
      char: 'y',
      description: 'replace it without asking (required with no terminal)',
      default: false,
    }),
    to: Flags.string({ description: 'npm plugins: the version or range to update to (default: latest)' }),
  }

  async run(): Promise<InstallResult> {
    const { args, flags } = await this.parse(PluginsUpdate)
    const { installedPlugin } = await import('../../plugin-store/installed.js')
    const { installPlugin } = await import('../../plugin-store/install-flow.js')
    const locked = await installedPlugin(args.name)
    if (flags.to !== undefined && locked.source.kind !== 'npm')
      throw new MiradorError('USAGE', `${args.name} came from a ${locked.source.kind}: --to is for npm plugins.`)
    const spec = locked.source.kind === 'npm' ? `${locked.name}@${flags.to ?? 'latest'}` : locked.source.spec
    const result = await installPlugin(spec, {
      yes: flags.yes,
      command: `mirador plugins update ${args.name}`,
      update: locked.name,
      log: this.jsonEnabled() ? () => {} : (line) => this.log(line),
    })
    if (result.refused)
      throw new MiradorError(
        'PLUGIN_INSTALL',
        `${result.name} ${result.version} is refused: ${result.refused.join('; ')}.`,
        {
          details: { plugin: result.name, check: result.check },
        },
      )
    if (!result.installed && !result.upToDate && !this.jsonEnabled()) this.log('Not updated.')
    return result
  }
}
