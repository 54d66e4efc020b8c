import { Args } from '@oclif/core'
import { MiradorCommand } from '../base.js'

export default class PluginsRm extends MiradorCommand {
  static summary = 'Remove an installed plugin: from $MIRADOR_HOME/plugins, its lock file and config.yaml.'
  static description =
    'Uninstalls NAME (npm, scripts off), removes its entry from the lock file and its tarball, and removes ' +
    'it from `plugins:` in $MIRADOR_HOME/config.yaml (comments and layout kept).'
  static examples = [
    '<%= config.bin %> plugins rm mirador-plugin-today',
    '<%= config.bin %> plugins rm my-plugin --json',
  ]
  static args = { name: Args.string({ description: 'the installed plugin (package name)', required: true }) }

  async run(): Promise<{ removed: string; version: string }> {
    const { args } = await this.parse(PluginsRm)
    const { removePlugin } = await import('../../plugin-store/store.js')
    const { miradorHome } = await import('../../cli/paths.js')
    const removed = await removePlugin(args.name, miradorHome())
    if (!this.jsonEnabled()) this.log(`Removed ${removed.name} ${removed.version}.`)
    return { removed: removed.name, version: removed.version }
  }
}
