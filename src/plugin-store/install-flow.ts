/**
 * What `plugins install` and `plugins update` do around the store: prepare (fetch, stage, check),
 * show the user what the plugin asks for and what was found, ask, commit.
 */
import { miradorHome } from '../cli/paths.js'
import type { CheckReport } from './check.js'
import { confirm, requireTerminalOrYes } from './confirm.js'
import { checkLines } from './describe.js'
import { commitInstall, prepareInstall, refusals, withStaging } from './store.js'

export interface InstallOptions {
  yes: boolean
  /** the command line to show when --yes is needed */
  command: string
  log: (line: string) => void
  cwd?: string
  home?: string
  /** the plugin must be installed already (update); else it must not be (install) */
  update?: string
}

export interface InstallResult {
  installed: boolean
  name: string
  version: string
  integrity: string
  /** the version replaced (update) */
  previous?: { version: string; integrity: string }
  /** why it was refused */
  refused?: string[]
  /** nothing to do: the same integrity is installed */
  upToDate?: boolean
  check: CheckReport
}

export async function installPlugin(spec: string, opts: InstallOptions): Promise<InstallResult> {
  requireTerminalOrYes(opts.yes, opts.command)
  const home = opts.home ?? miradorHome()
  return withStaging(home, async (tmp) => {
    const prepared = await prepareInstall(spec, opts.cwd ?? process.cwd(), home, tmp)
    const { name, version, report, previous } = prepared
    const base: InstallResult = {
      installed: false,
      name,
      version,
      integrity: prepared.fetched.integrity,
      ...(previous ? { previous: { version: previous.version, integrity: previous.integrity } } : {}),
      check: report,
    }
    if (opts.update !== undefined && name !== opts.update)
      return { ...base, refused: [`${spec} is the package ${name}, not ${opts.update}`] }
    if (previous?.integrity === prepared.fetched.integrity) {
      opts.log(`${name} ${version} is installed already, with this very content (${previous.integrity.slice(0, 19)}…).`)
      return { ...base, upToDate: true }
    }
    if (previous && opts.update === undefined)
      return {
        ...base,
        refused: [`${previous.name} ${previous.version} is installed already: run \`mirador plugins update ${name}\``],
      }
    for (const line of checkLines(report, spec)) opts.log(line)
    const refused = refusals(report)
    if (refused.length) return { ...base, refused }
    if (previous) opts.log(`  replaces ${previous.version} (${previous.integrity.slice(0, 19)}…)`)
    if (!opts.yes && !(await confirm(`Enable ${name} ${version}?`))) return base
    await commitInstall(prepared, home)
    opts.log(`Installed ${name} ${version}, enabled in ${home}/config.yaml.`)
    return { ...base, installed: true }
  })
}
