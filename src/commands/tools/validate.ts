import path from 'node:path'
import { Args } from '@oclif/core'
import { toolDirs } from '../../cli/paths.js'
import { setup } from '../../cli/setup.js'
import { MiradorError } from '../../engine/errors.js'
import { listToolFiles, loadTool } from '../../plugins/tools/registry.js'
import { MiradorCommand } from '../base.js'

export default class ToolsValidate extends MiradorCommand {
  static summary = "Check tool files: schema, source inside the tool's folder, a valid parameter schema."
  static description =
    'Without FILES it checks the tools in ./tools and $MIRADOR_HOME/tools. ' +
    'Every problem is printed with its file:line:column; the status is 1 if any file has one.'
  static strict = false
  static examples = ['<%= config.bin %> tools validate', '<%= config.bin %> tools validate tools/mine.yaml --json']
  static args = { files: Args.string({ description: 'tool YAML files', required: false }) }

  async run(): Promise<unknown> {
    const { argv, flags } = await this.parse(ToolsValidate)
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}) })
    const given = (argv as string[]).map((f) => path.resolve(s.cwd, f))
    const files = given.length ? given : listToolFiles(toolDirs(s.cwd, s.home).slice(0, 2)).map((t) => t.file)
    const reports = []
    for (const file of files) {
      const shown = path.relative(s.cwd, file) || file
      try {
        await loadTool(shown)
        reports.push({ file: shown, ok: true as const })
      } catch (err) {
        const e = MiradorError.from(err)
        reports.push({ file: shown, ok: false as const, error: { code: e.code, message: e.format() } })
      }
    }
    const ok = reports.every((r) => r.ok)
    if (!this.jsonEnabled()) {
      for (const r of reports) {
        if (r.ok) this.log(`✓ ${r.file}`)
        else this.logToStderr(`✗ ${r.error!.code}: ${r.error!.message}`)
      }
      if (reports.length === 0) this.log('No tool files in ./tools or $MIRADOR_HOME/tools.')
    }
    if (!ok) process.exitCode = 1
    return { ok, files: reports }
  }
}
