import { Args, Flags } from '@oclif/core'
import { MiradorCommand } from '../base.js'
import type { LockedPlugin } from '../../plugin-store/lock-file.js'

export default class PluginsInfo extends MiradorCommand {
  static summary = 'Show an installed plugin: publisher, source, integrity, what it asks for, what its checks found.'
  static description =
    'What was pinned and found when NAME was installed: its version, where it came from and who published it ' +
    '(registry plugins), its npm integrity and registry signature status, the hooks, capabilities and ' +
    'permissions it declares, the findings of its checks at file:line:column, and whether the allow/deny ' +
    'list ($MIRADOR_HOME/plugins/policy.json) accepts it.'
  static examples = [
    '<%= config.bin %> plugins info mirador-plugin-today',
    '<%= config.bin %> plugins info my-plugin --json',
  ]
  static args = { name: Args.string({ description: 'the installed plugin (package name)', required: true }) }
  static flags = { info: Flags.boolean({ description: 'list informational findings too', default: false }) }

  async run(): Promise<LockedPlugin & { enabled: boolean; allowed: boolean }> {
    const { args, flags } = await this.parse(PluginsInfo)
    const { installedPlugin } = await import('../../plugin-store/installed.js')
    const { isAllowed } = await import('../../plugin-store/policy.js')
    const { miradorHome } = await import('../../cli/paths.js')
    const { findingLine, manifestLines } = await import('../../plugin-store/describe.js')
    const p = await installedPlugin(args.name)
    const allowed = isAllowed(p.name, p.integrity, miradorHome())
    if (!this.jsonEnabled()) {
      this.log(
        `${p.name} ${p.version}${p.enabled ? '' : ' (not enabled)'}${allowed ? '' : ' (refused by policy.json)'}`,
      )
      this.log(`  source:       ${p.source.kind} ${p.source.spec}${p.source.registry ? ` (${p.source.registry})` : ''}`)
      this.log(`  publisher:    ${p.publisher ?? 'unknown'}`)
      this.log(`  integrity:    ${p.integrity}`)
      this.log(`  signatures:   ${p.signatures}`)
      this.log(`  installed:    ${p.installedAt} (${Object.keys(p.files).length} files pinned)`)
      for (const line of manifestLines(p.manifest)) this.log(line)
      const s = p.findings.summary
      this.log(`  findings:     ${s.errors} errors, ${s.warnings} undeclared warnings, ${s.declared} declared`)
      this.log(`  ${p.findings.behaviour}`)
      for (const f of p.findings.list.filter((x) => flags.info || x.severity !== 'info' || x.declared))
        this.log(`  ${findingLine(f)}`)
    }
    return { ...p, allowed }
  }
}
