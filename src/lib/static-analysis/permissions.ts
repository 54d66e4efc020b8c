/**
 * Findings against a plugin's declared permissions (schemas/plugin-permissions.schema.json): each
 * finding marked `declared` when the declaration covers what it needs. What the code does not
 * show (a path or host computed at run time) is covered by any declaration of that kind, since the
 * sandbox enforces the exact list at run time; a finding that needs no permission (eval,
 * tampering, obfuscation) or one no permission grants (process.binding, vm) is never declared.
 */
import path from 'node:path'
import { minimatch } from 'minimatch'
import type { PluginPermissions } from '../../engine/config/types.gen.js'
import type { Finding, Permission } from './types.js'

export type CheckedFinding = Finding & { declared: boolean }

/** `path` is a declared entry, under a declared folder, or matched by a declared glob. */
function pathCovered(p: string | undefined, declared: string[] | undefined): boolean {
  if (!declared?.length) return false
  if (p === undefined) return true
  const want = path.posix.normalize(p.replace(/\\/g, '/'))
  return declared.some((d) => {
    const entry = path.posix.normalize(d.replace(/\\/g, '/')).replace(/\/$/, '')
    return want === entry || want.startsWith(`${entry}/`) || minimatch(want, entry, { dot: true })
  })
}

const hostPort = (h: string) => {
  const m = /^(.*?)(?::(\d+))?$/.exec(h.toLowerCase())!
  return { host: m[1]!, port: m[2] }
}

/** `host` (with an optional port) is declared, or a subdomain of a declared `*.domain`; a declared port must match. */
function hostCovered(host: string | undefined, declared: string[] | undefined): boolean {
  if (!declared?.length) return false
  if (host === undefined) return true
  const want = hostPort(host)
  return declared.some((d) => {
    const entry = hostPort(d)
    if (entry.port !== undefined && entry.port !== want.port) return false
    return entry.host === want.host || (entry.host.startsWith('*.') && want.host.endsWith(entry.host.slice(1)))
  })
}

export function covered(need: Permission, granted: PluginPermissions): boolean {
  switch (need.kind) {
    case 'fs.read':
      // what may be written may be read
      return pathCovered(need.path, [...(granted.fs?.read ?? []), ...(granted.fs?.write ?? [])])
    case 'fs.write':
      return pathCovered(need.path, granted.fs?.write)
    case 'network':
      return hostCovered(need.host, granted.network)
    case 'env':
      return need.name === undefined ? Boolean(granted.env?.length) : (granted.env ?? []).includes(need.name)
    case 'childProcess':
      return granted.childProcess === true
  }
}

export function compareWithPermissions(findings: Finding[], permissions: PluginPermissions = {}): CheckedFinding[] {
  return findings.map((f) => ({ ...f, declared: f.permission ? covered(f.permission, permissions) : false }))
}
