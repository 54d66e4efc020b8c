/**
 * $MIRADOR_HOME/plugins/plugins.lock.json: for each installed plugin what was checked and pinned
 * when it was installed (version, where it came from, npm integrity of its tarball, the sha256 of
 * each of its files, its manifest, what the checks found, the publisher, when). Written atomically,
 * by one process at a time (the store's lock, see store.ts).
 */
import { readFile } from 'node:fs/promises'
import { writeFileAtomic } from '../lib/atomic-write.js'
import { MiradorError } from '../engine/errors.js'
import type { CheckFinding, CheckSummary } from './check.js'
import type { LoadedPluginManifest } from './manifest.js'
import type { SourceKind } from './source.js'

export interface LockedPlugin {
  name: string
  version: string
  source: { kind: SourceKind; spec: string; registry?: string }
  /** npm integrity (sha512) of the tarball installed */
  integrity: string
  /** the tarball kept in the store, relative to it */
  tarball: string
  /** sha256 of each file of node_modules/NAME */
  files: Record<string, string>
  manifest: LoadedPluginManifest['manifest']
  findings: { summary: CheckSummary; list: CheckFinding[]; behaviour: string }
  publisher?: string
  signatures: 'verified' | 'none' | 'not applicable'
  installedAt: string
}

export interface LockFile {
  lockfileVersion: 1
  plugins: Record<string, LockedPlugin>
  /** sha256 of each file of the plugins' dependencies (node_modules/…), as last installed */
  dependencies?: Record<string, string>
}

export async function readLockFile(file: string): Promise<LockFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { lockfileVersion: 1, plugins: {} }
    throw err
  }
  try {
    const v = JSON.parse(text) as LockFile
    if (v.lockfileVersion !== 1 || typeof v.plugins !== 'object' || v.plugins === null) throw new Error('unknown shape')
    return v
  } catch (err) {
    throw new MiradorError(
      'PLUGIN_INTEGRITY',
      `${file} cannot be read (${(err as Error).message}): it is Mirador's record of installed plugins; ` +
        'restore it, or remove it and install the plugins again.',
    )
  }
}

export function writeLockFile(file: string, lock: LockFile): Promise<void> {
  const sorted = Object.fromEntries(Object.entries(lock.plugins).sort(([a], [b]) => (a < b ? -1 : 1)))
  return writeFileAtomic(file, `${JSON.stringify({ ...lock, plugins: sorted }, null, 2)}\n`)
}
