import path from 'node:path'
import { Args, Flags } from '@oclif/core'
import type { CheckReport } from '../../plugin-store/check.js'
import { MiradorCommand } from '../base.js'

export default class PluginsCheck extends MiradorCommand {
  static summary = 'Check a plugin before publishing or installing it: manifest, code, install scripts, behaviour.'
  static description =
    "Validates the plugin's manifest (package.json `mirador`), analyzes every JavaScript file of the package " +
    '(acorn) and compares what the code does with the permissions it declares, looks for install scripts ' +
    '(preinstall, install, postinstall, a binding.gyp), which Mirador never runs, and runs the sandbox ' +
    'behaviour test. Each finding has file:line:column. TARGET is a folder, a .tgz or an npm package name ' +
    '(downloaded, not installed; its scripts never run). The status is 1 when the plugin would be refused ' +
    '(an invalid manifest, an install script, an error finding, static or of the behaviour test), ' +
    'with --strict also when the code does ' +
    'something its permissions do not declare.'
  static examples = [
    '<%= config.bin %> plugins check ./my-plugin',
    '<%= config.bin %> plugins check my-plugin-1.0.0.tgz --json',
    '<%= config.bin %> plugins check mirador-plugin-today@1.0.0',
    '<%= config.bin %> plugins check ./my-plugin --strict --info',
  ]
  static args = {
    target: Args.string({ description: 'a plugin folder, a .tgz, or an npm package name', required: true }),
  }
  static flags = {
    strict: Flags.boolean({ description: 'undeclared behaviour fails too (status 1)', default: false }),
    info: Flags.boolean({ description: 'list informational findings too (imports, reads)', default: false }),
  }

  async run(): Promise<CheckReport & { target: string }> {
    const { args, flags } = await this.parse(PluginsCheck)
    const { checkTarget } = await import('../../plugin-store/check-target.js')
    const report = await checkTarget(args.target, process.cwd())
    const where = report.kind === 'folder' ? path.relative(process.cwd(), report.dir) || '.' : args.target
    if (!this.jsonEnabled()) {
      const { checkLines } = await import('../../plugin-store/describe.js')
      for (const line of checkLines(report, where, flags.info)) this.log(line)
    }
    if (!report.ok || (flags.strict && report.summary.warnings > 0)) process.exitCode = 1
    return { target: args.target, ...report }
  }
}
