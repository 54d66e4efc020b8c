/**
 * The plugin store's reports as text lines, shared by `plugins check`, `install` and `info` so
 * that what a user is asked to approve reads the same everywhere.
 */
import type { PluginManifest, PluginPermissions } from '../engine/config/types.gen.js'
import type { BehaviourReport } from './behaviour.js'
import type { CheckFinding, CheckReport } from './check.js'

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`

const list = (xs: readonly string[] | undefined) => (xs?.length ? xs.join(', ') : 'none')

/** The declared permissions, one phrase each; "none" when the plugin asks for nothing. */
export function permissionsText(p: PluginPermissions | undefined): string {
  const parts: string[] = []
  if (p?.fs?.read?.length) parts.push(`read ${p.fs.read.join(', ')}`)
  if (p?.fs?.write?.length) parts.push(`write ${p.fs.write.join(', ')}`)
  if (p?.network?.length) parts.push(`network ${p.network.join(', ')}`)
  if (p?.env?.length) parts.push(`env ${p.env.join(', ')}`)
  if (p?.childProcess) parts.push('child processes')
  return parts.length ? parts.join('; ') : 'none'
}

export function manifestLines(m: PluginManifest & { permissions?: PluginPermissions }): string[] {
  return [
    `  hooks:        ${list(m.hooks)}`,
    `  capabilities: ${list(m.capabilities)}${m.provides?.length ? ` (provides ${m.provides.join(', ')})` : ''}`,
    `  permissions:  ${permissionsText(m.permissions)}`,
    // the commands it adds to the CLI (mirador NAME), when it adds any
    ...(m.commands
      ? [`  commands:     ${list(Object.keys(m.commands).map((c) => `mirador ${c.replaceAll(':', ' ')}`))}`]
      : []),
  ]
}

/** A finding, at file:line:column when it has one (the behaviour test's are what the plugin did, not where). */
export function findingText(f: CheckFinding): string {
  return `${'file' in f ? `${f.file}:${f.line}:${f.column} ` : 'behaviour: '}${f.rule} ${f.message}`
}

export function findingLine(f: CheckFinding): string {
  // a behaviour finding is what the plugin did, which no declaration covers: its severity alone
  const undeclared = 'file' in f ? ', not declared' : ''
  const tag = f.declared ? ' (declared)' : f.severity === 'error' ? '' : ` (${f.severity}${undeclared})`
  return `${findingText(f)}${tag}`
}

/** What the behaviour test did, or why it did not run. */
export function behaviourLine(b: BehaviourReport): string {
  if (!b.available) return b.note ?? 'behaviour test: not run'
  return (
    `behaviour test: ${plural(b.runs, 'run')} of recorded hook traffic (${plural(b.calls, 'hook call')}), ` +
    `${plural(b.findings.length, 'finding')}`
  )
}

/** A check report: the manifest, then what was found, each finding at file:line:column. */
export function checkLines(r: CheckReport, where: string, showInfo = false): string[] {
  const mark = r.ok ? (r.summary.warnings ? '!' : '✓') : '✗'
  const out = [`${mark} ${r.name ? `${r.name} ${r.version}` : where}${r.name ? `  (${where})` : ''}`]
  if (r.manifestError) {
    const l = r.manifestError.location
    out.push(
      `  manifest: ${r.manifestError.code}: ${l ? `${l.file}:${l.line}:${l.column}: ` : ''}${r.manifestError.message}`,
    )
  }
  if (r.manifest) out.push(...manifestLines(r.manifest))
  out.push(
    r.installScripts.length
      ? `  install scripts: ${r.installScripts.map((s) => `${s.package} ${s.script}: ${s.command}`).join('; ')} ` +
          '(refused: Mirador never runs install scripts)'
      : '  install scripts: none',
  )
  out.push(`  ${behaviourLine(r.behaviour)}`)
  const shown = r.findings.filter((f) => showInfo || f.severity !== 'info' || f.declared)
  for (const f of shown) out.push(`  ${findingLine(f)}`)
  out.push(
    `  ${plural(r.files, 'JavaScript file')} analyzed: ${plural(r.summary.errors, 'error')}, ` +
      `${plural(r.summary.warnings, 'undeclared warning')}, ${r.summary.declared} declared.`,
  )
  return out
}
