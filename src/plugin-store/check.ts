/**
 * `plugins check`, which `install` runs too: the manifest (schema-validated), static analysis of
 * every JavaScript file compared with the declared permissions, install scripts (the package's
 * own and its dependencies'), and the sandbox behaviour test. One report, each finding at
 * file:line:column (relative to the package folder).
 *
 * What fails a check (`ok: false`): no valid manifest, an install script anywhere, an
 * error-severity finding (what no permission grants: tampering with built-ins, process.binding,
 * a file that does not parse), an error of the behaviour test (behaviour.ts). Warnings are what the code does that its
 * permissions do not declare: the sandbox will deny it at run time, and the user sees it before
 * enabling the plugin.
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import type { CheckedFinding, Severity } from '../lib/static-analysis/index.js'
import { MiradorError } from '../engine/errors.js'
import { miradorHome } from '../cli/paths.js'
import { behaviourTest, type BehaviourFinding, type BehaviourReport } from './behaviour.js'
import { findInstallScripts, packagesUnder, type InstallScript } from './install-scripts.js'
import { readManifest, type LoadedPluginManifest } from './manifest.js'

export interface CheckOptions {
  /**
   * The node_modules holding the package's dependencies, when they are installed (a staged
   * install): their install scripts count, and their JavaScript is analyzed too.
   */
  nodeModules?: string
  /** the $MIRADOR_HOME the behaviour test shows the plugin (default: the user's) */
  home?: string
}

/** A static finding (at file:line:column) or one of the behaviour test (what the plugin did, no file). */
export type CheckFinding = CheckedFinding | BehaviourFinding

export interface CheckSummary {
  errors: number
  /** undeclared behaviour: warnings not covered by the declared permissions */
  warnings: number
  /** findings the declared permissions cover */
  declared: number
  info: number
}

export interface CheckReport {
  ok: boolean
  dir: string
  name?: string
  version?: string
  manifest?: LoadedPluginManifest['manifest']
  manifestError?: { code: string; message: string; location?: { file: string; line: number; column: number } }
  findings: CheckFinding[]
  installScripts: InstallScript[]
  behaviour: BehaviourReport
  /** JavaScript files and bytes analyzed */
  files: number
  bytes: number
  summary: CheckSummary
}

/** A package's own JavaScript: its folders but node_modules (and .git), and its top-level .js/.mjs/.cjs files. */
async function ownEntries(dir: string, jsFile: RegExp): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true })
  return entries
    .filter((e) => (e.isDirectory() ? e.name !== 'node_modules' && e.name !== '.git' : jsFile.test(e.name)))
    .map((e) => path.join(dir, e.name))
}

function relativeTo(dir: string, file: string): string {
  const rel = path.relative(dir, file)
  return rel === '' || rel.startsWith('..') || path.isAbsolute(rel) ? file : rel
}

const isUnder = (p: string, parent: string) => p !== parent && p.startsWith(`${parent}${path.sep}`)

/** Findings in the package as `index.js`, in its dependencies as `node_modules/dep/x.js`. */
function shownPath(dir: string, nodeModules: string | undefined, file: string): string {
  const own = relativeTo(dir, file)
  return own !== file || !nodeModules ? own : relativeTo(path.dirname(nodeModules), file)
}

export async function checkPackage(dir: string, opts: CheckOptions = {}): Promise<CheckReport> {
  let loaded: LoadedPluginManifest | undefined
  let manifestError: CheckReport['manifestError']
  try {
    loaded = await readManifest(dir)
    // a command named like one of Mirador's own is refused (oclif's list of them loads only then)
    if (loaded.manifest.commands) {
      const { builtinWords, shadowingCommands } = await import('../cli/plugin-commands/names.js')
      const [shadowing] = await shadowingCommands(loaded, await builtinWords())
      if (shadowing) throw shadowing
    }
  } catch (err) {
    const e = MiradorError.from(err, 'PLUGIN_MANIFEST')
    const location = e.location ? { ...e.location, file: relativeTo(dir, e.location.file) } : undefined
    manifestError = { code: e.code, message: e.message, ...(location ? { location } : {}) }
  }
  // the parser loads only here, never when another command starts
  const { analyzePaths, compareWithPermissions, JS_FILE } = await import('../lib/static-analysis/index.js')
  const deps = opts.nodeModules ? (await packagesUnder(opts.nodeModules)).filter((d) => d !== dir) : []
  // nested packages are analyzed with the package they are under
  const roots = [...(await ownEntries(dir, JS_FILE)), ...deps.filter((d) => !deps.some((o) => isUnder(d, o)))]
  const analysis = await analyzePaths(roots, { profile: 'plugin' })
  const staticFindings = compareWithPermissions(analysis.findings, loaded?.manifest.permissions ?? {}).map((f) => ({
    ...f,
    file: shownPath(dir, opts.nodeModules, f.file),
  }))
  const installScripts = (await findInstallScripts(dir, deps)).map((s) => ({
    ...s,
    dir: shownPath(dir, opts.nodeModules, s.dir) || '.',
  }))
  const behaviour: BehaviourReport = loaded
    ? await behaviourTest(loaded, opts.home ?? miradorHome())
    : { available: false, note: 'behaviour test: not run (no valid manifest)', runs: 0, calls: 0, findings: [] }
  const findings: CheckFinding[] = [...staticFindings, ...behaviour.findings]
  const count = (sev: Severity, declared?: boolean) =>
    findings.filter((f) => f.severity === sev && (declared === undefined || f.declared === declared)).length
  const summary: CheckSummary = {
    errors: count('error') + installScripts.length + (manifestError ? 1 : 0),
    warnings: count('warning', false),
    declared: findings.filter((f) => f.declared).length,
    info: count('info', false),
  }
  return {
    ok: summary.errors === 0,
    dir,
    ...(loaded ? { name: loaded.name, version: loaded.version, manifest: loaded.manifest } : {}),
    ...(manifestError ? { manifestError } : {}),
    findings,
    installScripts,
    behaviour,
    files: analysis.files,
    bytes: analysis.bytes,
    summary,
  }
}
