import path from 'node:path'
import { Args } from '@oclif/core'
import { chainProblems } from '../../cli/chain-load.js'
import { conflictProblem, listChains } from '../../cli/chain-files.js'
import { chainDirs } from '../../cli/paths.js'
import { setup } from '../../cli/setup.js'
import {
  loadConfigFile,
  validateConfigFile,
  type ChainFile,
  type ConfigKind,
  type ManifestFile,
} from '../../engine/config/index.js'
import { loadGroupFile } from '../../plugins/federation/group.js'
import { chainModelWarnings } from '../../plugins/models/near-miss.js'
import { templateWarnings } from '../../cli/chain-problems.js'
import { manifestProblems } from '../../plugins/models/resolve.js'
import type { EngineSettings } from '../../engine/engine.js'
import { MiradorError } from '../../engine/errors.js'
import { MiradorCommand } from '../base.js'

/**
 * The kind of a YAML file: by the folders and manifest Mirador uses (engine settings), then by its
 * name and folder for files elsewhere.
 */
export function kindOf(file: string, settings: Pick<EngineSettings, 'dirs' | 'manifest'>): ConfigKind {
  const abs = path.resolve(file)
  const dir = path.dirname(abs)
  const base = path.basename(abs)
  const inside = (dirs: readonly string[]) => dirs.some((d) => path.resolve(d) === dir)
  if ((settings.manifest && path.resolve(settings.manifest) === abs) || /^manifest\.ya?ml$/.test(base))
    return 'manifest'
  if (base === 'mirador.config.yaml' || base === 'config.yaml') return 'config'
  if (/\.group\.(ya?ml|json)$/.test(base)) return 'federation-group'
  if (inside(settings.dirs.profiles) || path.basename(dir) === 'profiles') return 'profile'
  if (inside(settings.dirs.tools) || path.basename(dir) === 'tools') return 'tool'
  return 'chain'
}

interface Problem {
  code: string
  message: string
  line?: number
  column?: number
}

export interface FileReport {
  file: string
  kind: ConfigKind
  ok: boolean
  errors: Problem[]
  /** what is valid but most likely a mistake (a model name one typo from a manifest entry); not a failure */
  warnings?: Problem[]
}

const problem = (e: MiradorError): Problem => ({
  code: e.code,
  message: e.message,
  ...(e.location ? { line: e.location.line, column: e.location.column } : {}),
})

export default class ChainValidate extends MiradorCommand {
  static summary = 'Check chain files (and other Mirador YAML) against their schemas and the stage graph.'
  static description =
    'Reports every problem with its file:line:column, the key at fault and what was expected, and exits with ' +
    'status 1 if any file has one. A stage model that the manifest lacks but is one typo from an entry is a ' +
    'warning (the status stays 0). Without FILES it checks the chains in ./chains and $MIRADOR_HOME/chains. ' +
    'Two chain files of one folder that claim the same name (by their name: keys, or a name: key and a file ' +
    'name) are an error. Files named manifest.yaml, mirador.config.yaml or config.yaml, federation group files ' +
    '(NAME.group.yaml), and files in profiles/ or tools/, are checked against their own schemas.'
  static strict = false
  static examples = [
    '<%= config.bin %> chain validate',
    '<%= config.bin %> chain validate chains/mine.yaml models/manifest.yaml',
    '<%= config.bin %> chain validate ~/Sync/garden-club/garden-club.group.yaml',
    '<%= config.bin %> chain validate --json',
  ]
  static args = { files: Args.string({ description: 'YAML files to check', required: false }) }

  async run(): Promise<{ ok: boolean; files: FileReport[] }> {
    const { argv, flags } = await this.parse(ChainValidate)
    const cwd = process.cwd()
    const { engine, home, models, tools } = await setup({
      cwd,
      ...(flags.config ? { config: flags.config as string } : {}),
    })
    // a broken manifest is reported when it is checked itself; here it just gives no names to compare
    const manifest = await models?.manifest().catch(() => undefined)
    const given = (argv as string[]).map((f) => path.resolve(cwd, f))
    const dirs = chainDirs(cwd, home)
    const chains = new Map(listChains(dirs).map((c) => [c.file, c]))
    const files = given.length ? given : [...chains.values()].filter((c) => c.folder < 2).map((c) => c.file)
    const reports: FileReport[] = []
    for (const file of files) {
      const kind = kindOf(file, engine.settings)
      const shown = path.relative(cwd, file) || file
      const opts = kind === 'chain' ? { extraStageProperties: engine.stageKeys() } : {}
      const res = await validateConfigFile(shown, kind, opts)
      let errors = res.errors
      let warnings: MiradorError[] = []
      if (res.ok && kind === 'chain') {
        const chain = await loadConfigFile<ChainFile>(shown, 'chain', opts)
        errors = chainProblems(chain)
        warnings = [...chainModelWarnings(chain, manifest), ...templateWarnings(chain, engine.templateVars())]
      }
      if (res.ok && kind === 'manifest')
        errors = manifestProblems(engine.settings, await loadConfigFile<ManifestFile>(shown, 'manifest'))
      // a group file's keys, ids, threshold and privacy, beyond the schema (the first problem)
      if (res.ok && kind === 'federation-group')
        errors = await loadGroupFile(shown).then(
          () => [],
          (err: unknown) => [MiradorError.from(err)],
        )
      // what the tools plugin checks beyond the schema (the source file beside it, its parameters)
      if (res.ok && kind === 'tool' && tools) errors = await tools.check(shown)
      const entry = kind === 'chain' ? chains.get(file) : undefined
      if (entry?.conflicts.length) errors = [...errors, conflictProblem(entry, cwd)]
      reports.push({
        file: shown,
        kind,
        ok: errors.length === 0,
        errors: errors.map(problem),
        ...(warnings.length ? { warnings: warnings.map(problem) } : {}),
      })
    }
    const ok = reports.every((r) => r.ok)
    if (!this.jsonEnabled()) {
      if (reports.length === 0)
        this.log(
          'No chain files found in ./chains or $MIRADOR_HOME/chains. Name files to check: mirador chain validate FILE…',
        )
      const at = (r: FileReport, e: Problem) => `${r.file}${e.line ? `:${e.line}:${e.column}` : ''}`
      for (const r of reports) {
        if (r.ok) this.log(`✓ ${r.file}`)
        for (const e of r.errors) this.logToStderr(`✗ ${at(r, e)}: ${e.code}: ${e.message}`)
        for (const w of r.warnings ?? []) this.logToStderr(`! ${at(r, w)}: warning: ${w.code}: ${w.message}`)
      }
      const warned = reports.reduce((n, r) => n + (r.warnings?.length ?? 0), 0)
      this.log(
        (ok
          ? `${reports.length} file(s) valid.`
          : `${reports.filter((r) => !r.ok).length} of ${reports.length} file(s) have problems.`) +
          (warned ? ` ${warned} warning(s).` : ''),
      )
    }
    // oclif prints the returned value for --json; the status says whether all was well
    if (!ok) process.exitCode = 1
    return { ok, files: reports }
  }
}
