/**
 * `plugins verify`: each installed plugin's files hashed again and compared with the sha256 the
 * lock file pinned at install, and the tarball it came from with its pinned integrity. Any
 * change, addition or removal is reported; a plugin folder that is gone is reported as such.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { compareTrees, hashTree, unchanged, type TreeChanges } from './file-hashes.js'
import { readLockFile } from './lock-file.js'
import { storePaths } from './paths.js'
import { integrityOf } from './tarball.js'
import { notInstalled } from './store.js'

export interface VerifyReport extends TreeChanges {
  name: string
  version: string
  ok: boolean
  /** the plugin's folder is gone */
  missing?: boolean
  /** the kept tarball no longer has the pinned integrity (or is gone) */
  tarball: 'ok' | 'changed' | 'missing'
}

export async function verifyInstalled(home: string, names: string[] = []): Promise<VerifyReport[]> {
  const p = storePaths(home)
  const lock = await readLockFile(p.lock)
  const unknown = names.find((n) => !lock.plugins[n])
  if (unknown) throw notInstalled(unknown, Object.keys(lock.plugins))
  const out: VerifyReport[] = []
  for (const locked of Object.values(lock.plugins)) {
    if (names.length && !names.includes(locked.name)) continue
    const dir = path.join(p.nodeModules, locked.name)
    const present = (await stat(dir).catch(() => undefined))?.isDirectory() === true
    const changes = compareTrees(locked.files, present ? await hashTree(dir) : {})
    const tgz = path.join(p.dir, locked.tarball)
    const tarball = !(await stat(tgz).catch(() => undefined))
      ? 'missing'
      : (await integrityOf(tgz)) === locked.integrity
        ? 'ok'
        : 'changed'
    out.push({
      name: locked.name,
      version: locked.version,
      ok: present && unchanged(changes) && tarball === 'ok',
      ...(present ? {} : { missing: true }),
      ...changes,
      tarball,
    })
  }
  return out
}
