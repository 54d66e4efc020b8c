/**
 * The sha256 of every file of an installed plugin, by path relative to its folder (sorted), as the
 * lock file pins them and `plugins verify` re-hashes them. Links are recorded by their target, not
 * followed; anything else that is not a regular file or folder is recorded by its kind.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { readdir, readlink } from 'node:fs/promises'
import path from 'node:path'

async function sha256(file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

export async function hashTree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true })
    for (const e of entries) {
      const p = path.join(dir, e.name)
      const rel = path.relative(root, p).split(path.sep).join('/')
      if (e.isDirectory()) await walk(p)
      else if (e.isFile()) out[rel] = await sha256(p)
      else if (e.isSymbolicLink()) out[rel] = `link:${await readlink(p)}`
      else out[rel] = 'special'
    }
  }
  await walk(root)
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

export interface TreeChanges {
  changed: string[]
  added: string[]
  removed: string[]
}

export function compareTrees(pinned: Record<string, string>, now: Record<string, string>): TreeChanges {
  return {
    changed: Object.keys(pinned).filter((f) => f in now && now[f] !== pinned[f]),
    added: Object.keys(now).filter((f) => !(f in pinned)),
    removed: Object.keys(pinned).filter((f) => !(f in now)),
  }
}

export const unchanged = (c: TreeChanges) => !c.changed.length && !c.added.length && !c.removed.length

/**
 * The files of the plugins' dependencies in the store's node_modules: everything but the plugins'
 * own folders (pinned one by one), npm's bookkeeping and Mirador's linked plugin API.
 */
export async function hashDependencies(nodeModules: string, plugins: string[]): Promise<Record<string, string>> {
  const all = await hashTree(nodeModules).catch(() => ({}) as Record<string, string>)
  const skip = [...plugins, '@mirador/plugin-api'].map((n) => `${n}/`)
  return Object.fromEntries(
    Object.entries(all).filter(
      ([f]) => f !== '.package-lock.json' && f !== '@mirador/plugin-api' && !skip.some((s) => f.startsWith(s)),
    ),
  )
}
