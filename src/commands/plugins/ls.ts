import { MiradorCommand } from '../base.js'
import type { LockedPlugin } from '../../plugin-store/lock-file.js'

export default class PluginsLs extends MiradorCommand {
  static summary = 'List the plugins installed in $MIRADOR_HOME/plugins.'
  static description =
    'Each installed plugin with its version, where it came from, whether it is enabled in ' +
    '$MIRADOR_HOME/config.yaml, and what its checks found. `plugins info NAME` shows one in full.'
  static examples = ['<%= config.bin %> plugins ls', '<%= config.bin %> plugins ls --json']

  async run(): Promise<{ plugins: (LockedPlugin & { enabled: boolean })[] }> {
    await this.parse(PluginsLs)
    const { listInstalled } = await import('../../plugin-store/installed.js')
    const plugins = await listInstalled()
    if (!this.jsonEnabled()) {
      if (!plugins.length) this.log('No plugins installed. Install one with `mirador plugins install NAME`.')
      for (const p of plugins) {
        const s = p.findings.summary
        const found = s.errors + s.warnings ? `${s.errors} errors, ${s.warnings} undeclared` : 'clean'
        this.log(
          `${p.enabled ? '●' : '○'} ${p.name.padEnd(28)} ${p.version.padEnd(10)} ${p.source.kind.padEnd(7)} ${found}`,
        )
      }
    }
    return { plugins }
  }
}
