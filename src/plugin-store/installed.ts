/** The installed plugins as `plugins ls` and `info` show them: the lock file, and whether each is enabled. */
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { miradorHome } from '../cli/paths.js'
import { readLockFile, type LockedPlugin } from './lock-file.js'
import { storePaths } from './paths.js'
import { notInstalled } from './store.js'

async function enabledNames(configFile: string): Promise<Set<string>> {
  const text = await readFile(configFile, 'utf8').catch(() => '')
  let v: unknown
  try {
    v = parse(text)
  } catch {
    // a config that does not parse is reported by every command that loads it
  }
  const plugins = v && typeof v === 'object' ? (v as { plugins?: unknown }).plugins : undefined
  const list = Array.isArray(plugins) ? (plugins as unknown[]) : []
  return new Set(list.map((e) => (typeof e === 'string' ? e : ((e as { name?: string } | null)?.name ?? ''))))
}

export async function listInstalled(home = miradorHome()): Promise<(LockedPlugin & { enabled: boolean })[]> {
  const p = storePaths(home)
  const lock = await readLockFile(p.lock)
  const enabled = await enabledNames(p.config)
  return Object.values(lock.plugins).map((l) => ({ ...l, enabled: enabled.has(l.name) }))
}

export async function installedPlugin(
  name: string,
  home = miradorHome(),
): Promise<LockedPlugin & { enabled: boolean }> {
  const all = await listInstalled(home)
  const found = all.find((p) => p.name === name)
  if (!found)
    throw notInstalled(
      name,
      all.map((p) => p.name),
    )
  return found
}
