/**
 * `plugins check TARGET`: a folder is checked where it is (as its author works on it; its
 * node_modules, dev tools included, is not the plugin's); a .tgz or an npm package is unpacked
 * into a temporary folder first. Installing checks again, with the dependencies resolved.
 */
import path from 'node:path'
import { checkPackage, type CheckReport } from './check.js'
import { fetchSource, sourceKind, type SourceKind } from './source.js'
import { withTempDir } from './temp.js'

export async function checkTarget(target: string, cwd: string): Promise<CheckReport & { kind: SourceKind }> {
  const kind = await sourceKind(target, cwd)
  if (kind === 'folder') return { kind, ...(await checkPackage(path.resolve(cwd, target))) }
  return withTempDir('mirador-check', async (tmp) => {
    const fetched = await fetchSource(target, cwd, tmp)
    return { kind, ...(await checkPackage(fetched.dir)), dir: fetched.spec }
  })
}
