/**
 * The folders of a plugin's dependencies, found as Node's resolver finds them (each ancestor's
 * node_modules, nearest first), and theirs in turn: an installed plugin's dependencies sit beside it
 * in the store's node_modules, outside its own folder, and its host must be able to read them.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import path from 'node:path'

/** Mirador gives every host its own copy of the plugin API (host-main.ts resolves it). */
const PROVIDED = new Set(['@mirador/plugin-api'])

function dependencyNames(dir: string): string[] {
  try {
    const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>
    const names = ['dependencies', 'optionalDependencies', 'peerDependencies'].flatMap((k) =>
      pkg[k] && typeof pkg[k] === 'object' ? Object.keys(pkg[k]) : [],
    )
    return [...new Set(names)].filter((n) => !PROVIDED.has(n))
  } catch {
    return []
  }
}

/** Where Node would find package `name` required from `dir`, or undefined. */
function resolvePackageDir(name: string, dir: string): string | undefined {
  for (let d = dir; ; d = path.dirname(d)) {
    if (path.basename(d) !== 'node_modules') {
      const candidate = path.join(d, 'node_modules', name)
      if (existsSync(path.join(candidate, 'package.json'))) return realpathSync(candidate)
    }
    if (path.dirname(d) === d) return undefined
  }
}

/** Every dependency folder of the package in `dir`, transitively (a missing optional one is skipped). */
export function dependencyDirs(dir: string): string[] {
  const found = new Set<string>()
  const visit = (from: string) => {
    for (const name of dependencyNames(from)) {
      const at = resolvePackageDir(name, from)
      if (at && !found.has(at) && at !== dir) {
        found.add(at)
        visit(at)
      }
    }
  }
  visit(dir)
  return [...found]
}
