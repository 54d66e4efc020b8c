import { statSync } from 'node:fs'
import path from 'node:path'
import { Args, Flags } from '@oclif/core'
import { toolDirs } from '../../cli/paths.js'
import { setup } from '../../cli/setup.js'
import { MiradorError } from '../../engine/errors.js'
import type { Finding } from '../../lib/static-analysis/index.js'
import { listToolFiles, loadTool } from '../../plugins/tools/registry.js'
import { MiradorCommand } from '../base.js'

interface Target {
  name: string
  /** the tool's YAML, or nothing when a module was given on its own */
  file?: string
  /** the module given on its own */
  module?: string
  shadowed?: boolean
}

interface Report {
  name: string
  file?: string
  module?: string
  shadowed?: boolean
  findings: Finding[]
  /** the tool did not load (its YAML, its source file or its patterns), so its module was not analyzed */
  error?: { code: string; message: string }
}

const MODULE = /\.(?:js|mjs|cjs)$/

export default class ToolsCheck extends MiradorCommand {
  static summary = "Check tools' modules by static analysis: what cannot work in the sandbox, and what hides."
  static description =
    "Parses each tool's module (acorn) and reports, with file:line:column, what a tool cannot do in its " +
    'isolated-vm sandbox, which has no Node API: any import or require, process, the network (fetch, ' +
    'WebSocket); these are errors. Code built from strings (eval, new Function), changes to built-ins and ' +
    'signs of obfuscation (long base64 or hex strings, random-looking strings, String.fromCharCode chains, ' +
    '\\x escapes) are warnings. PATH is a tool file (.yaml), a module (.js/.mjs), or a folder of tools; ' +
    'without it, every tool Mirador can see, like `tools ls`. The status is 1 if there is an error ' +
    '(with --strict, a warning too), or a tool that does not load.'
  static examples = [
    '<%= config.bin %> tools check',
    '<%= config.bin %> tools check tools/word_count.yaml',
    '<%= config.bin %> tools check ./my-tools --strict',
    '<%= config.bin %> tools check tools/word_count.mjs --json',
  ]
  static args = {
    path: Args.string({
      description: 'a tool file (.yaml), its module (.js/.mjs), or a folder of tools',
      required: false,
    }),
  }
  static flags = {
    strict: Flags.boolean({ description: 'warnings fail too (status 1)', default: false }),
  }

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(ToolsCheck)
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}) })
    // relative to where the user is, unless it is elsewhere (the shipped tools)
    const shown = (f: string) => {
      const rel = path.relative(s.cwd, f)
      return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? f : rel
    }
    const targets = args.path ? targetsAt(path.resolve(s.cwd, args.path), args.path) : defaultTargets(s.cwd, s.home)
    // the parser loads only here, never when another command starts
    const { analyzePaths, analyzeSource } = await import('../../lib/static-analysis/index.js')
    const reports: Report[] = []
    for (const t of targets) {
      const report: Report = { name: t.name, findings: [], ...(t.shadowed ? { shadowed: true } : {}) }
      if (t.module) {
        report.module = shown(t.module)
        report.findings = (await analyzePaths([t.module], { profile: 'tool' })).findings
      } else {
        report.file = shown(t.file!)
        try {
          const tool = await loadTool(report.file)
          report.name = tool.name
          report.module = shown(tool.sourceFile)
          report.findings = analyzeSource(report.module, tool.source, { profile: 'tool' })
        } catch (err) {
          const e = MiradorError.from(err)
          report.error = { code: e.code, message: e.format() }
        }
      }
      reports.push({ ...report, findings: report.findings.map((f) => ({ ...f, file: shown(f.file) })) })
    }
    const count = (severity: string) =>
      reports.reduce((n, r) => n + r.findings.filter((f) => f.severity === severity).length, 0)
    const errors = count('error') + reports.filter((r) => r.error).length
    const warnings = count('warning')
    if (!this.jsonEnabled()) this.print(reports, errors, warnings)
    const ok = errors === 0 && (!flags.strict || warnings === 0)
    if (!ok) process.exitCode = 1
    return { ok, errors, warnings, tools: reports }
  }

  private print(reports: Report[], errors: number, warnings: number): void {
    if (reports.length === 0) this.log('No tools found.')
    for (const r of reports) {
      const where = `${r.file ?? r.module}${r.shadowed ? ' (shadowed)' : ''}`
      if (r.error) {
        this.log(`✗ ${r.name.padEnd(14)} ${r.error.code}: ${r.error.message}`)
        continue
      }
      const e = r.findings.filter((f) => f.severity === 'error').length
      const w = r.findings.length - e
      const tally = r.findings.length ? `: ${plural(e, 'error')}, ${plural(w, 'warning')}` : ''
      this.log(`${e ? '✗' : w ? '!' : '✓'} ${r.name.padEnd(14)} ${where}${tally}`)
      for (const f of r.findings)
        this.log(
          `${f.file}:${f.line}:${f.column} ${f.rule} ${f.message}${f.severity === 'error' ? '' : ` (${f.severity})`}`,
        )
    }
    if (reports.length > 0)
      this.log(`${plural(reports.length, 'tool')} checked: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}.`)
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

/** Every tool file Mirador can see, shadowed ones too, as `tools ls` lists them. */
function defaultTargets(cwd: string, home: string): Target[] {
  return listToolFiles(toolDirs(cwd, home)).map((t) => ({ name: t.name, file: t.file, shadowed: t.shadowed }))
}

function targetsAt(full: string, given: string): Target[] {
  let st
  try {
    st = statSync(full)
  } catch {
    throw new MiradorError('USAGE', `${given} does not exist. Give a tool file (.yaml), a module or a folder of tools.`)
  }
  if (st.isDirectory()) {
    const tools = listToolFiles([full]).map((t) => ({ name: t.name, file: t.file }))
    if (tools.length === 0)
      throw new MiradorError('USAGE', `${given} holds no tool files (*.yaml). Give a folder of tools, or a module.`)
    return tools
  }
  if (MODULE.test(full)) return [{ name: path.basename(full).replace(MODULE, ''), module: full }]
  return [{ name: path.basename(full).replace(/\.ya?ml$/, ''), file: full }]
}
