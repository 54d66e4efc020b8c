import { Args } from '@oclif/core'
import { MiradorCommand } from '../base.js'
import type { VerifyResult } from '../../plugin-store/verify.js'

export default class PluginsVerify extends MiradorCommand {
  static summary = "Re-hash installed plugins' files and compare them with the lock file: report any change."
  static description =
    'Hashes every file of each installed plugin (or the NAMEs given) again and compares it with the sha256 ' +
    'pinned in $MIRADOR_HOME/plugins/plugins.lock.json at install, and the tarball it came from with its ' +
    'pinned npm integrity, and (with no NAME) the dependencies they share in the store. Files changed, added ' +
    'or removed are listed. The status is 1 if anything changed: ' +
    'reinstall the plugin (`plugins rm`, then `plugins install`) from a source you trust.'
  static strict = false
  static examples = [
    '<%= config.bin %> plugins verify',
    '<%= config.bin %> plugins verify mirador-plugin-today',
    '<%= config.bin %> plugins verify --json',
  ]
  static args = { name: Args.string({ description: 'installed plugins to verify (default: all)' }) }

  async run(): Promise<VerifyResult> {
    const { argv } = await this.parse(PluginsVerify)
    const { verifyInstalled } = await import('../../plugin-store/verify.js')
    const { miradorHome } = await import('../../cli/paths.js')
    const result = await verifyInstalled(miradorHome(), argv as string[])
    const { plugins, dependencies: deps } = result
    if (!this.jsonEnabled()) {
      if (!plugins.length) this.log('No plugins installed.')
      for (const p of plugins) {
        this.log(`${p.ok ? '✓' : '✗'} ${p.name} ${p.version}${p.missing ? ': its folder is gone' : ''}`)
        for (const f of p.changed) this.log(`  changed: ${f}`)
        for (const f of p.added) this.log(`  added:   ${f}`)
        for (const f of p.missing ? [] : p.removed) this.log(`  removed: ${f}`)
        if (p.tarball !== 'ok') this.log(`  tarball: ${p.tarball} (not the integrity pinned)`)
      }
      if (deps && (deps.files > 0 || !deps.ok)) {
        this.log(`${deps.ok ? '✓' : '✗'} their dependencies (node_modules)`)
        for (const [what, files] of [
          ['changed', deps.changed],
          ['added', deps.added],
          ['removed', deps.removed],
        ] as const)
          for (const f of files) this.log(`  ${`${what}:`.padEnd(8)} node_modules/${f}`)
      }
    }
    if (!result.ok) process.exitCode = 1
    return result
  }
}
