/**
 * Bringing the index up to date with the files of some roots: new files are indexed, changed ones
 * indexed again, files gone (or no longer chosen by the rules) dropped with their passages, and
 * the rest left alone. A file whose size and time are what the catalog has is not even read; one
 * that was touched but holds the same content (its keyed hash) is not embedded again.
 *
 * Passages are embedded and written in batches across files, with progress per file. A file's
 * passage ids follow from its path, its content and their order, and its old passages and any of
 * the new ones already there (a sync interrupted after writing them) are deleted before the new
 * are added, so an interrupted sync loses nothing and leaves no duplicate: run it again and it goes
 * on. The catalog is written every few seconds and at the end.
 */
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import type { Embedder } from '../../../lib/embedder.js'
import type { MemoryStore } from '../types.js'
import { passageIds, type Catalog, type DocFile } from './catalog.js'
import { chunkText, isMarkdown, type Chunk } from './chunk.js'
import { redact } from '../redact.js'
import { embedPassages, toRecord } from './passages.js'
import { isWithin, type Root } from './roots.js'
import { rootChooses, scanRoots, type Found } from './scan.js'

/** passages embedded together (a line to the memory service stays small) */
const EMBED_BATCH = 64
/** passages written together: each write is three requests to the store, whatever its size */
const WRITE_BATCH = 512
/** the catalog is written at least this often while a long sync goes on */
const SAVE_EVERY_MS = 3000

export interface SyncReport {
  /** files */
  added: number
  changed: number
  removed: number
  unchanged: number
  /** passages written */
  chunks: number
  /** passages in which a secret was redacted */
  redacted: number
  /** bytes of the files indexed */
  bytes: number
  /** left out, with why (too large, not text) */
  skipped: { path: string; reason: string }[]
  /** files of other kinds the rules did not choose */
  ignored: number
}

export interface SyncOptions {
  catalog: Catalog
  /** the roots to look at (the catalog's roots, or some of them) */
  scope: Root[]
  store: () => Promise<MemoryStore>
  embedder: Pick<Embedder, 'embed'>
  /** the memory key's keyed hash */
  hash: (text: string) => string
  /** memory's extra secret patterns (redact.ts), besides the built-in ones */
  redactPatterns: string[]
  /** writes the catalog */
  save: () => Promise<void>
  /** embed every file again (the embedder changed) */
  again?: boolean
  onProgress?: (done: number, total: number) => void
}

interface Pending {
  entry: DocFile
  old?: DocFile
  chunks: Chunk[]
}

export async function syncDocs(o: SyncOptions): Promise<SyncReport> {
  const { catalog } = o
  const scan = await scanRoots(o.scope)
  const report: SyncReport = {
    added: 0,
    changed: 0,
    removed: 0,
    unchanged: 0,
    chunks: 0,
    redacted: 0,
    bytes: 0,
    skipped: scan.skipped,
    ignored: scan.ignored,
  }
  const gone = await removals(catalog, o.scope, scan.files)
  if (gone.length) {
    const store = await o.store()
    await deleteIds(
      store,
      gone.flatMap((f) => passageIds(f)),
    )
    for (const f of gone) delete catalog.files[f.path]
    report.removed += gone.length
  }

  const todo: Found[] = []
  for (const f of scan.files.values()) {
    const old = catalog.files[f.path]
    if (old && !o.again && old.size === f.size && old.mtimeMs === f.mtimeMs) report.unchanged++
    else todo.push(f)
  }

  let pending: Pending[] = []
  let waiting = 0
  let done = 0
  let savedAt = Date.now()
  const progress = () => o.onProgress?.(done, todo.length)
  const flush = async () => {
    if (pending.length === 0) return
    const batch = pending
    pending = []
    waiting = 0
    await write(batch, o)
    for (const p of batch) {
      o.catalog.files[p.entry.path] = p.entry
      if (p.old) report.changed++
      else report.added++
      report.chunks += p.chunks.length
      report.bytes += p.entry.size
    }
    done += batch.length
    progress()
    if (Date.now() - savedAt > SAVE_EVERY_MS) {
      await o.save()
      savedAt = Date.now()
    }
  }
  progress()
  for (const f of todo) {
    const old = catalog.files[f.path]
    const text = await readText(f.path)
    if (typeof text !== 'string') {
      report.skipped.push({ path: f.path, reason: text.reason })
      if (old) {
        await deleteIds(await o.store(), passageIds(old))
        delete catalog.files[f.path]
        report.removed++
      }
      done++
      continue
    }
    const hash = o.hash(`doc-content\0${text}`)
    if (old && !o.again && old.hash === hash) {
      catalog.files[f.path] = { ...old, size: f.size, mtimeMs: f.mtimeMs }
      report.unchanged++
      done++
      continue
    }
    const key = old?.key ?? o.hash(`doc-path\0${f.path}`).slice(0, 16)
    // secrets are redacted as in memories: passages go into prompts, maybe to another host
    const chunks = chunkText(text, { markdown: isMarkdown(f.path) }).map((c) => {
      const r = redact(c.text, o.redactPatterns)
      if (r.found.length) report.redacted++
      return { ...c, text: r.text }
    })
    const entry: DocFile = {
      path: f.path,
      key,
      hash,
      size: f.size,
      mtimeMs: f.mtimeMs,
      lines: text.split(/\r\n|\r|\n/).length,
      chunks: chunks.length,
      indexedAt: Date.now(),
    }
    pending.push({ entry, chunks, ...(old ? { old } : {}) })
    waiting += chunks.length
    if (waiting >= WRITE_BATCH) await flush()
  }
  await flush()
  progress()
  return report
}

/** The catalog's files below the scope's roots that the scan no longer finds and no other root chooses. */
async function removals(catalog: Catalog, scope: Root[], found: Map<string, Found>): Promise<DocFile[]> {
  const others = catalog.roots.filter((r) => !scope.some((s) => s.path === r.path))
  const gone: DocFile[] = []
  for (const f of Object.values(catalog.files)) {
    if (found.has(f.path) || !scope.some((r) => (r.kind === 'file' ? r.path === f.path : isWithin(f.path, r.path))))
      continue
    let kept = false
    for (const r of others) kept ||= existsSync(f.path) && (await rootChooses(r, f.path))
    if (!kept) gone.push(f)
  }
  return gone
}

async function write(batch: Pending[], o: SyncOptions): Promise<void> {
  const items = batch.flatMap((p) => {
    const ids = passageIds(p.entry)
    return p.chunks.map((chunk, i) => ({ p, chunk, id: ids[i]! }))
  })
  const vectors = await embedPassages(
    o.embedder,
    items.map((x) => ({ file: x.p.entry.path, chunk: x.chunk })),
    EMBED_BATCH,
  )
  const store = await o.store()
  await deleteIds(
    store,
    batch.flatMap((p) => [...(p.old ? passageIds(p.old) : []), ...passageIds(p.entry)]),
  )
  const at = Date.now()
  await store.add(items.map((x, i) => toRecord(x.p.entry, x.chunk, x.id, vectors[i]!, at)))
}

/** deletes passages by id, a thousand at a time */
export async function deleteIds(store: MemoryStore, given: string[]): Promise<number> {
  // a file embedded again with the same content has the same passage ids (Chroma refuses repeats)
  const ids = [...new Set(given)]
  let n = 0
  for (let i = 0; i < ids.length; i += 1000) n += await store.delete({ ids: ids.slice(i, i + 1000) })
  return n
}

/** The file as text, or why it is not: not UTF-8, or binary (a NUL byte). */
async function readText(file: string): Promise<string | { reason: string }> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (err) {
    return { reason: `cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` }
  }
  if (bytes.subarray(0, 8192).includes(0)) return { reason: 'binary (not text)' }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    return { reason: 'not UTF-8 text' }
  }
}
