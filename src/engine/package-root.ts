/**
 * The installed package's root: the nearest folder above this module whose package.json is
 * Mirador's. Found by walking up rather than by a fixed `../..`, because the CLI's fast path runs
 * from one bundled file (dist/mirador.js) as well as from the compiled modules (dist/…/*.js).
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

function findRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json')
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'mirador') return dir
      } catch {
        // a broken package.json above us is not ours
      }
    }
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..')
  }
}

export const PACKAGE_ROOT = findRoot(path.dirname(fileURLToPath(import.meta.url)))
