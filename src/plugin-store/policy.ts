/**
 * The user's allow/deny list of plugins, $MIRADOR_HOME/plugins/policy.json, kept by hand:
 *
 *   { "deny":  [{ "name": "evil-plugin" }, { "name": "x", "integrity": "sha512-…" }],
 *     "allow": [{ "name": "mirador-plugin-today", "integrity": "sha512-…" }] }
 *
 * An entry without `integrity` matches every version of the name. A denied plugin is refused; when
 * `allow` lists anything, only what it lists is accepted. Install checks it before anything is
 * fetched into the store, and loading checks it for each installed plugin (`isAllowed`).
 */
import { readFileSync } from 'node:fs'
import { MiradorError } from '../engine/errors.js'
import { storePaths } from './paths.js'

interface Rule {
  name: string
  integrity?: string
}

export interface Policy {
  allow: Rule[]
  deny: Rule[]
}

function rules(v: unknown, file: string, key: string): Rule[] {
  if (v === undefined) return []
  const ok =
    Array.isArray(v) &&
    v.every(
      (r: unknown) =>
        typeof r === 'object' &&
        r !== null &&
        typeof (r as Rule).name === 'string' &&
        ((r as Rule).integrity === undefined || typeof (r as Rule).integrity === 'string'),
    )
  if (!ok)
    throw new MiradorError(
      'PLUGIN_DENIED',
      `${file}: "${key}" must be a list of { "name": …, "integrity"?: "sha512-…" }; fix it.`,
    )
  return v as Rule[]
}

/** The policy in `file` (none when it does not exist). Read synchronously: loading calls it. */
export function readPolicy(file: string): Policy {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { allow: [], deny: [] }
    throw err
  }
  let v: { allow?: unknown; deny?: unknown }
  try {
    v = JSON.parse(text) as typeof v
  } catch (err) {
    throw new MiradorError('PLUGIN_DENIED', `${file} is not valid JSON (${(err as Error).message}): fix it.`)
  }
  return { allow: rules(v.allow, file, 'allow'), deny: rules(v.deny, file, 'deny') }
}

const matches = (r: Rule, name: string, integrity: string | undefined) =>
  r.name === name && (r.integrity === undefined || r.integrity === integrity)

/** Why the policy refuses `name` (at `integrity`), or undefined when it accepts it. */
export function policyRefusal(policy: Policy, name: string, integrity?: string): string | undefined {
  if (policy.deny.some((r) => matches(r, name, integrity))) return `${name} is on the deny list`
  if (policy.allow.length && !policy.allow.some((r) => matches(r, name, integrity)))
    return `${name}${integrity ? ` (${integrity.slice(0, 19)}…)` : ''} is not on the allow list`
  return undefined
}

/** For loading: whether the user's policy in `home` accepts the plugin `name` with this integrity. */
export function isAllowed(name: string, integrity: string | undefined, home: string): boolean {
  return policyRefusal(readPolicy(storePaths(home).policy), name, integrity) === undefined
}

export function assertAllowed(policy: Policy, name: string, integrity: string, file: string): void {
  const why = policyRefusal(policy, name, integrity)
  if (why) throw new MiradorError('PLUGIN_DENIED', `${why} (${file}): not installed. Edit that file to change it.`)
}

/**
 * For loading a plugin named in a config file: why the user's policy refuses it, or undefined.
 * An installed plugin is judged with the integrity its lock entry pins; any other (a path, a
 * package found elsewhere) by its name alone.
 */
export function loadRefusal(name: string, home: string): string | undefined {
  const p = storePaths(home)
  const policy = readPolicy(p.policy)
  if (!policy.allow.length && !policy.deny.length) return undefined
  let integrity: string | undefined
  try {
    const lock = JSON.parse(readFileSync(p.lock, 'utf8')) as { plugins?: Record<string, { integrity?: string }> }
    integrity = lock.plugins?.[name]?.integrity
  } catch {
    // no lock file: nothing installed
  }
  return policyRefusal(policy, name, integrity)
}

/** Loading's check: MiradorError PLUGIN_DENIED when the user's policy refuses the plugin `name`. */
export function assertLoadAllowed(name: string, home: string): void {
  const why = loadRefusal(name, home)
  if (why) {
    throw new MiradorError(
      'PLUGIN_DENIED',
      `plugin ${name} is not loaded: ${why} (${storePaths(home).policy}). Edit that file to change it.`,
      { details: { plugin: name } },
    )
  }
}
