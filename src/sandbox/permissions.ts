/**
 * A plugin's declared permissions as the host's command line and environment: Node's permission
 * model reads only the plugin's folder, its dependencies' folders (dependencies.ts), Mirador's own
 * files the host runs (dist, the plugin API, the schemas and modules they load) and the declared
 * reads; writes only the declared writes; programs only if declared; an environment of the declared
 * variables alone.
 */
import { realpathSync } from 'node:fs'
import path from 'node:path'
import type { PluginPermissions } from '../engine/config/types.gen.js'
import { PACKAGE_ROOT } from '../engine/package-root.js'
import { dependencyDirs } from './dependencies.js'

/** Mirador's own files a host reads: its code, the plugin API, the schemas and libraries they load. */
const MIRADOR_FILES = ['dist', 'packages/plugin-api', 'schemas', 'node_modules', 'package.json']

/** The path and, when it differs, where its links lead (the permission model checks the real path). */
function withRealPath(p: string): string[] {
  try {
    const real = realpathSync(p)
    return real === p ? [p] : [p, real]
  } catch {
    return [p]
  }
}

/**
 * A declared path as Node 20's permission model takes it: absolute, and a glob cut at its first
 * wildcard segment (the model knows only a trailing `*`), so `data/*.json` grants `data/*`.
 */
export function permissionPath(entry: string, dir: string): string {
  const abs = path.resolve(dir, entry)
  const wild = abs.search(/[*?[{]/)
  if (wild < 0) return abs
  return abs.slice(0, abs.lastIndexOf(path.sep, wild) + 1) + '*'
}

/** The permission model's flag: `--permission` from Node 22.13 (and 23.5), experimental before. */
export function permissionFlag(version = process.versions.node): string {
  const [major = 0, minor = 0] = version.split('.').map(Number)
  const stable = major >= 24 || (major === 23 && minor >= 5) || (major === 22 && minor >= 13)
  return stable ? '--permission' : '--experimental-permission'
}

export interface HostCommand {
  execArgv: string[]
  env: Record<string, string>
  /** what the host may read (links in the plugin's folder must stay inside it: links.ts) */
  reads: string[]
}

export function hostCommand(opts: {
  dir: string
  permissions: PluginPermissions
  memoryMb: number
  env: Readonly<Record<string, string | undefined>>
}): HostCommand {
  const { dir, permissions, memoryMb } = opts
  const reads = [
    ...withRealPath(dir),
    ...dependencyDirs(dir),
    ...MIRADOR_FILES.flatMap((f) => withRealPath(path.join(PACKAGE_ROOT, f))),
    ...(permissions.fs?.read ?? []).flatMap((p) => withRealPath(permissionPath(p, dir))),
  ]
  const writes = (permissions.fs?.write ?? []).flatMap((p) => withRealPath(permissionPath(p, dir)))
  const execArgv = [
    permissionFlag(),
    ...[...new Set(reads)].map((p) => `--allow-fs-read=${p}`),
    ...[...new Set(writes)].map((p) => `--allow-fs-write=${p}`),
    ...(permissions.childProcess === true ? ['--allow-child-process'] : []),
    // the one worker is the host's module loader (it resolves @mirador/plugin-api); the host then
    // closes worker_threads before the plugin loads (host-barrier.ts)
    '--allow-worker',
    `--max-old-space-size=${memoryMb}`,
    '--no-warnings',
  ]
  const env: Record<string, string> = {}
  for (const name of permissions.env ?? []) {
    const value = opts.env[name]
    if (value !== undefined) env[name] = value
  }
  return { execArgv, env, reads: [...new Set(reads)] }
}
