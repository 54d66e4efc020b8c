/**
 * Node 20's permission model checks the path a plugin opens, not where its links lead: a link
 * shipped inside a plugin's folder (`data -> /home/you`) would open everything behind it. Before its
 * host starts, every link in the folder must lead inside what the host may read (a dependency
 * installed as a link to Mirador's own plugin API does). A plugin cannot make new links at run time:
 * the permission model refuses fs.symlink and fs.link to a sandboxed process.
 */
import { readdir, realpath } from 'node:fs/promises'
import path from 'node:path'

/** More entries than a plugin package has; past it the walk stops and says so. */
const MAX_ENTRIES = 200_000

/** Whether `target` is one of `roots` or under one. */
export function inside(target: string, roots: readonly string[]): boolean {
  return roots.some((r) => target === r || target.startsWith(r.endsWith(path.sep) ? r : r + path.sep))
}

/** The links under `dir` that lead outside `roots` (as `link -> target`), and whether the walk finished. */
export async function linksOutside(dir: string, roots: readonly string[]): Promise<string[]> {
  const found: string[] = []
  const pending = [dir]
  let seen = 0
  while (pending.length) {
    const at = pending.pop()!
    let entries
    try {
      entries = await readdir(at, { withFileTypes: true })
    } catch {
      continue
    }
    for (const e of entries) {
      if (++seen > MAX_ENTRIES) return [...found, `${dir}: more than ${MAX_ENTRIES} files (not checked past that)`]
      const p = path.join(at, e.name)
      if (e.isSymbolicLink()) {
        const target = await realpath(p).catch(() => undefined)
        // a dangling link opens nothing
        if (target && !inside(target, roots)) found.push(`${p} -> ${target}`)
      } else if (e.isDirectory()) pending.push(p)
    }
  }
  return found
}
