/**
 * The document index's own record, `$MIRADOR_HOME/docs/index.sealed`: the roots the user added
 * (with their rules), and per indexed file its path, a keyed hash of its content (to tell a changed
 * file from a touched one), its size and time (to skip reading a file that did not change), and
 * the ids of its passages in the store. All of it is sealed with the memory key as one value: paths
 * are the user's data too. The passages themselves (text, line ranges, the path again) are sealed
 * in the store, one record each (passages.ts).
 *
 * One writer at a time (`docs/index.lock`); readers see a whole file, old or new (atomic writes).
 */
import { access, rm } from 'node:fs/promises'
import path from 'node:path'
import { openFile, sealFile, type Cipher } from '../../../lib/crypto.js'
import { withFileLock } from '../../../lib/file-lock.js'
import type { Root } from './roots.js'

export interface DocFile {
  /** absolute */
  path: string
  /** keyed hash of the path: what the file's passages carry in the store to be found by */
  key: string
  /** keyed hash of the content */
  hash: string
  size: number
  mtimeMs: number
  lines: number
  /** how many passages it has in the store (their ids follow: passageIds) */
  chunks: number
  /** ms since the epoch */
  indexedAt: number
}

export interface Catalog {
  v: 1
  /** the embedder the passages were embedded with (their collection is that embedder's) */
  embedder?: string
  roots: (Root & { addedAt: number })[]
  /** by absolute path */
  files: Record<string, DocFile>
}

const PASSAGE_ID = /^d_([0-9a-f]+)_([0-9a-f]{8})_(\d+)$/

/**
 * A file's passage ids, from the keyed hashes of its path and content and their order: the same
 * content gives the same ids (a sync interrupted and run again writes no duplicate), and the
 * catalog need not list them.
 */
export function passageIds(f: Pick<DocFile, 'key' | 'hash' | 'chunks'>): string[] {
  return Array.from({ length: f.chunks }, (_, i) => `d_${f.key}_${f.hash.slice(0, 8)}_${i}`)
}

/** Whether a passage id is one of `files` as they are now (not of a file changed or removed since). */
export function currentPassages(files: DocFile[]): { has(id: string): boolean } {
  const byKey = new Map(files.map((f) => [f.key, f]))
  return {
    has(id) {
      const m = PASSAGE_ID.exec(id)
      const f = m ? byKey.get(m[1]!) : undefined
      return f !== undefined && f.hash.startsWith(m![2]!) && Number(m![3]) < f.chunks
    },
  }
}

export function docsDir(home: string): string {
  return path.join(path.resolve(home), 'docs')
}

const indexFile = (home: string) => path.join(docsDir(home), 'index.sealed')

export function emptyCatalog(): Catalog {
  return { v: 1, roots: [], files: {} }
}

/** The catalog, or an empty one before the first `docs add`. */
export async function readCatalog(home: string, cipher: Cipher): Promise<Catalog> {
  const text = await openFile(cipher, indexFile(home))
  if (text === undefined) return emptyCatalog()
  const c = JSON.parse(text) as Catalog
  return { v: 1, roots: c.roots ?? [], files: c.files ?? {}, ...(c.embedder ? { embedder: c.embedder } : {}) }
}

/** Whether anything was ever indexed here (no key is read to say so). */
export async function hasCatalog(home: string): Promise<boolean> {
  return access(indexFile(home)).then(
    () => true,
    () => false,
  )
}

/** Writes the catalog; an empty one (no roots, no files) removes the file and the folder's rest. */
export async function writeCatalog(home: string, cipher: Cipher, c: Catalog): Promise<void> {
  if (c.roots.length === 0 && Object.keys(c.files).length === 0) {
    await rm(indexFile(home), { force: true })
    return
  }
  await sealFile(cipher, indexFile(home), JSON.stringify(c))
}

/** Runs `fn` as the only writer of the index (another `docs add` waits up to a minute). */
export function withCatalogLock<T>(home: string, fn: () => Promise<T>): Promise<T> {
  return withFileLock(path.join(docsDir(home), 'index.lock'), fn, {
    timeoutMs: 60_000,
    what: 'the document index',
  })
}
