/**
 * `plugins verify`: each installed plugin's files hashed again and compared with the sha256 the
 * lock file pinned at install, and the tarball it came from with its pinned integrity. Any
 * change, addition or removal is reported; a plugin folder that is gone is reported as such. With
 * no names given, the dependencies the plugins share in the store are compared as well.
 */
import { stat } from 'node:fs/promises'
import path from 'node:path'
import { compareTrees, hashDependencies, hashTree, unchanged, type TreeChanges } from './file-hashes.js'
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

export interface VerifyResult {
  ok: boolean
  plugins: VerifyReport[]
  /** the plugins' dependencies in the store, against the lock file (not with NAMEs given) */
  dependencies?: TreeChanges & { ok: boolean; files: number }
}

export async function verifyInstalled(home: string, names: string[] = []): Promise<VerifyResult> {
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
  let dependencies: VerifyResult['dependencies']
  if (!names.length && lock.dependencies) {
    const changes = compareTrees(lock.dependencies, await hashDependencies(p.nodeModules, Object.keys(lock.plugins)))
    dependencies = { ...changes, ok: unchanged(changes), files: Object.keys(lock.dependencies).length }
  }
  const ok = out.every((r) => r.ok) && dependencies?.ok !== false
  return { ok, plugins: out, ...(dependencies ? { dependencies } : {}) }
}
