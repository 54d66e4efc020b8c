/**
 * A plugin package's content hash: the sha256 of every file under its folder (its dependencies in
 * node_modules too: they are code it runs), by relative path in sorted order, so a changed,
 * added or removed file changes it. Symbolic links are not followed (a link's hash is of where it
 * points: a linked @mirador/plugin-api is Mirador's own). `.git` is left out, and so are the
 * folders `exclude` names (MIRADOR_HOME, when a plugin's package is the project holding it, changes
 * with every run). The walk is bounded:
 * a folder too large to hash is refused rather than read for minutes.
 */
import { createHash } from 'node:crypto'
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'

export interface PackageHash {
  /** `sha256:` and the hex digest over every file's path and hash */
  hash: string
  /** relative path (with /) → sha256 hex of the file, or of `-> TARGET` for a link */
  files: Record<string, string>
}

export const PACKAGE_HASH_LIMITS = Object.freeze({ maxFiles: 20_000, maxBytes: 256 * 1024 * 1024 })

const SKIPPED = new Set(['.git'])

const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')

/** `exclude`: absolute folders under `dir` to leave out. */
export async function hashPackage(dir: string, exclude: readonly string[] = []): Promise<PackageHash> {
  const excluded = new Set(exclude.map((d) => path.resolve(d)))
  const files: Record<string, string> = {}
  let count = 0
  let bytes = 0
  const tooLarge = () =>
    new MiradorError(
      'USAGE',
      `${dir} holds more than ${PACKAGE_HASH_LIMITS.maxFiles} files or ${PACKAGE_HASH_LIMITS.maxBytes >> 20} MB: ` +
        'too much to hash as one plugin. Keep the plugin in a folder of its own, with its own package.json.',
      { details: { dir } },
    )
  // synchronous: a few hundred small files hash in milliseconds this way, several times slower awaited one by one
  const walk = (rel: string): void => {
    const entries = readdirSync(path.join(dir, rel), { withFileTypes: true })
    for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (SKIPPED.has(entry.name)) continue
      const relPath = rel ? `${rel}/${entry.name}` : entry.name
      const full = path.join(dir, relPath)
      if (entry.isDirectory()) {
        if (!excluded.has(full)) walk(relPath)
        continue
      }
      if (++count > PACKAGE_HASH_LIMITS.maxFiles) throw tooLarge()
      if (entry.isSymbolicLink()) files[relPath] = sha256(`-> ${readlinkSync(full)}`)
      else if (entry.isFile()) {
        bytes += statSync(full).size
        if (bytes > PACKAGE_HASH_LIMITS.maxBytes) throw tooLarge()
        files[relPath] = sha256(readFileSync(full))
      }
      // FIFOs, sockets and devices are never read: their names still count
      else files[relPath] = sha256('special')
    }
  }
  walk('')
  const all = Object.keys(files)
    .sort()
    .map((f) => `${f}\0${files[f]}\n`)
    .join('')
  return { hash: `sha256:${sha256(all)}`, files }
}
