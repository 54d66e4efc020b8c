/**
 * `plugins check`, which `install` runs too: the manifest (schema-validated), static analysis of
 * every JavaScript file compared with the declared permissions, install scripts (the package's
 * own and its dependencies'), and the sandbox behaviour test. One report, each finding at
 * file:line:column (relative to the package folder).
 *
 * What fails a check (`ok: false`): no valid manifest, an install script anywhere, an
 * error-severity finding (what no permission grants: tampering with built-ins, process.binding,
 * a file that does not parse), a behaviour-test problem. Warnings are what the code does that its
 * permissions do not declare: the sandbox will deny it at run time, and the user sees it before
 * enabling the plugin.
 */
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import type { CheckedFinding, Severity } from '../lib/static-analysis/index.js'
import { MiradorError } from '../engine/errors.js'
import { behaviourTest, type BehaviourReport } from './behaviour.js'
import { findInstallScripts, type InstallScript } from './install-scripts.js'
import { readManifest, type LoadedPluginManifest } from './manifest.js'

export interface CheckOptions {
  /** the dependencies' node_modules, when they are installed (a staged install): their scripts count */
  nodeModules?: string
  /** analyze the dependencies' JavaScript as well (install does) */
  analyzeDependencies?: boolean
}

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
  findings: CheckedFinding[]
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

export async function checkPackage(dir: string, opts: CheckOptions = {}): Promise<CheckReport> {
  let loaded: LoadedPluginManifest | undefined
  let manifestError: CheckReport['manifestError']
  try {
    loaded = await readManifest(dir)
  } catch (err) {
    const e = MiradorError.from(err, 'PLUGIN_MANIFEST')
    manifestError = { code: e.code, message: e.message, ...(e.location ? { location: e.location } : {}) }
    if (e.location) manifestError.location = { ...e.location, file: relativeTo(dir, e.location.file) }
  }
  // the parser loads only here, never when another command starts
  const { analyzePaths, compareWithPermissions, JS_FILE } = await import('../lib/static-analysis/index.js')
  const roots = await ownEntries(dir, JS_FILE)
  if (opts.analyzeDependencies && opts.nodeModules) roots.push(opts.nodeModules)
  const analysis = await analyzePaths(roots, { profile: 'plugin' })
  const findings = compareWithPermissions(analysis.findings, loaded?.manifest.permissions ?? {}).map((f) => ({
    ...f,
    file: relativeTo(dir, f.file),
  }))
  const installScripts = (await findInstallScripts(dir, opts.nodeModules)).map((s) => ({
    ...s,
    dir: relativeTo(dir, s.dir) || '.',
  }))
  const behaviour: BehaviourReport = loaded
    ? await behaviourTest(loaded)
    : { available: false, note: 'behaviour test: not run (no valid manifest)', problems: [] }
  const count = (sev: Severity, declared?: boolean) =>
    findings.filter((f) => f.severity === sev && (declared === undefined || f.declared === declared)).length
  const summary: CheckSummary = {
    errors: count('error') + installScripts.length + behaviour.problems.length + (manifestError ? 1 : 0),
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
