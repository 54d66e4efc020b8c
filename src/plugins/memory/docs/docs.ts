/**
 * The user's documents: `mirador docs add|sync|ls|rm|search` and what runs ask (`{{docs}}`, the
 * `docs.search` capability). Indexed with the memory plugin's key, embedder and Chroma server, in a
 * collection of their own (passages.ts); the catalog of roots and files is sealed beside the
 * memory folder (catalog.ts). Nothing heavy is loaded until a document is indexed or searched.
 */
import { realpath, stat } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../../../engine/errors.js'
import type { MemoryCipher } from '../../../lib/crypto.js'
import type { Embedder } from '../../../lib/embedder.js'
import { recordFirstUse } from '../active-embedder.js'
import type { ChromaMemoryStoreApi } from '../chroma/store.js'
import type { MemoryStore } from '../types.js'
import {
  currentPassages,
  hasCatalog,
  passageIds,
  readCatalog,
  withCatalogLock,
  writeCatalog,
  type Catalog,
  type DocFile,
} from './catalog.js'
import { isRelevant, tuningFor } from '../recall.js'
import { docsCollection, rankPassages, type Passage } from './passages.js'
import { DEFAULT_MAX_BYTES, isWithin, type Root } from './roots.js'
import type { SyncReport } from './sync.js'

/** the store is asked for this many times the passages wanted, for ranking to choose from */
const OVERFETCH = 4

export interface DocsDeps {
  home: string
  env: NodeJS.ProcessEnv
  cipher: () => Promise<MemoryCipher>
  /** memory's embedder (the one its collection is in) */
  embedder: () => Embedder
  /** the minimum similarity a passage needs (memory's `threshold`, which depends on its embedder) */
  threshold: () => number
  /** memory's extra secret patterns: passages are redacted like memories */
  redactPatterns?: string[]
}

export interface AddRules {
  include?: string[]
  exclude?: string[]
  /** files larger than this many bytes are left out */
  maxBytes?: number
}

export interface RootInfo extends Root {
  addedAt: number
  files: number
  chunks: number
  bytes: number
}

export interface RemoveReport {
  /** roots no longer indexed */
  roots: string[]
  /** folders inside a root that stays, now excluded from it: { root, glob } */
  excluded: { root: string; glob: string }[]
  /** files dropped from the index, and their passages */
  files: number
  chunks: number
}

export interface PurgeOptions {
  /** false: only delete (the caller wipes the store after); default true */
  purge?: boolean
  /** told before purging starts (it takes seconds with thousands of passages) */
  onPurge?: () => void
}

export class Docs {
  constructor(private readonly deps: DocsDeps) {}

  /** the similarity a passage needs to be given (memory's threshold) */
  get threshold(): number {
    return this.deps.threshold()
  }

  /**
   * Adds folders and files (their rules replace those of a root added before, when given) and
   * indexes what changed below them.
   */
  async add(paths: string[], rules: AddRules, onProgress?: (done: number, total: number) => void): Promise<SyncReport> {
    if (paths.length === 0) throw new MiradorError('USAGE', 'say what to index: mirador docs add PATH…')
    const roots = await Promise.all(paths.map((p) => this.#root(p, rules)))
    return this.#locked(async (catalog) => {
      const scope: Root[] = []
      for (const r of roots) {
        const i = catalog.roots.findIndex((c) => c.path === r.path)
        const given = rules.include !== undefined || rules.exclude !== undefined || rules.maxBytes !== undefined
        const root = i >= 0 && !given ? catalog.roots[i]! : { ...r, addedAt: Date.now() }
        if (i >= 0) catalog.roots[i] = root
        else catalog.roots.push(root)
        scope.push(root)
      }
      return this.#sync(catalog, scope, onProgress)
    })
  }

  /** Indexes what changed below every root, and drops what is gone. */
  async sync(onProgress?: (done: number, total: number) => void): Promise<SyncReport> {
    return this.#locked((catalog) => this.#sync(catalog, catalog.roots, onProgress))
  }

  async list(): Promise<{ embedder?: string; roots: RootInfo[]; files: DocFile[] }> {
    if (!(await hasCatalog(this.deps.home))) return { roots: [], files: [] }
    const catalog = await readCatalog(this.deps.home, await this.deps.cipher())
    const files = Object.values(catalog.files).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    const roots = catalog.roots.map((r) => {
      const mine = files.filter((f) => (r.kind === 'file' ? f.path === r.path : isWithin(f.path, r.path)))
      return {
        ...r,
        files: mine.length,
        chunks: mine.reduce((n, f) => n + f.chunks, 0),
        bytes: mine.reduce((n, f) => n + f.size, 0),
      }
    })
    return { ...(catalog.embedder ? { embedder: catalog.embedder } : {}), roots, files }
  }

  /**
   * Stops indexing `paths`: a root (or every root below a path) is removed with its files' passages;
   * a folder or file inside a root that stays is excluded from that root (so a later sync does not
   * bring it back) and its passages removed.
   */
  async remove(paths: string[], opts: PurgeOptions = {}): Promise<RemoveReport> {
    const targets = await Promise.all(paths.map((p) => realpath(p).catch(() => path.resolve(p))))
    return this.#lockedThenPurge(
      opts,
      (r) => r.chunks > 0,
      async (catalog) => {
        const report: RemoveReport = { roots: [], excluded: [], files: 0, chunks: 0 }
        for (const t of targets) {
          const below = catalog.roots.filter((r) => isWithin(r.path, t))
          const inside = catalog.roots.filter((r) => r.kind === 'dir' && !below.includes(r) && isWithin(t, r.path))
          const files = Object.values(catalog.files).filter((f) => isWithin(f.path, t))
          if (below.length === 0 && inside.length === 0 && files.length === 0)
            throw new MiradorError(
              'USAGE',
              `${t} is not indexed: nothing was removed. See \`mirador docs ls\` for what is.`,
            )
          catalog.roots = catalog.roots.filter((r) => !below.includes(r))
          report.roots.push(...below.map((r) => r.path))
          for (const r of inside) {
            const glob = path.relative(r.path, t).split(path.sep).join('/')
            r.exclude = [...new Set([...(r.exclude ?? []), glob])]
            report.excluded.push({ root: r.path, glob })
          }
          report.chunks += await this.#drop(catalog, files)
          report.files += files.length
        }
        return report
      },
    )
  }

  /**
   * Removes every document from the index (`docs rm --all`, `memory forget --all`); the number of
   * files. `memory forget --all` passes `purge: false`: it wipes the store's data folder after.
   */
  async removeAll(opts: PurgeOptions = {}): Promise<number> {
    if (!(await hasCatalog(this.deps.home))) return 0
    return this.#lockedThenPurge(
      opts,
      (n) => n > 0,
      async (catalog) => {
        const files = Object.values(catalog.files)
        await this.#drop(catalog, files)
        catalog.roots = []
        return files.length
      },
    )
  }

  /** Whether a passage counts as relevant at `threshold` with the embedder in use (recall.ts isRelevant). */
  relevant(p: Pick<Passage, 'similarity' | 'components'>, threshold: number): boolean {
    return isRelevant(p, threshold, tuningFor(this.deps.embedder().id))
  }

  /** Passages relevant to `query`, best first, at or above the similarity threshold. */
  async search(query: string, opts: { limit: number; threshold?: number }): Promise<Passage[]> {
    if (!(await hasCatalog(this.deps.home))) return []
    const catalog = await readCatalog(this.deps.home, await this.deps.cipher())
    const files = Object.values(catalog.files)
    if (files.length === 0) return []
    const embedder = this.deps.embedder()
    if (catalog.embedder && catalog.embedder !== embedder.id)
      throw new MiradorError(
        'USAGE',
        `your documents are embedded with ${catalog.embedder} and memory now uses ${embedder.id}: ` +
          '`mirador docs sync` embeds them again',
      )
    const [vector] = await embedder.embed([query])
    const store = await this.#store(embedder.id)
    const hits = await store.query(vector!, opts.limit * OVERFETCH)
    return rankPassages(query, hits, {
      embedderId: embedder.id,
      k: opts.limit,
      threshold: opts.threshold ?? this.deps.threshold(),
      current: currentPassages(files),
    })
  }

  /** Whether any document is indexed here (without reading the key). */
  indexed(): Promise<boolean> {
    return hasCatalog(this.deps.home)
  }

  async #root(p: string, rules: AddRules): Promise<Root> {
    const abs = path.resolve(p)
    const st = await stat(abs).catch(() => undefined)
    if (!st || !(st.isFile() || st.isDirectory()))
      throw new MiradorError('USAGE', `${p}: ${st ? 'not a file or a folder' : 'no such file or folder'}`)
    for (const g of [...(rules.include ?? []), ...(rules.exclude ?? [])])
      if (g.trim() === '' || path.isAbsolute(g))
        throw new MiradorError('USAGE', `"${g}" is not a glob below the folder (like *.md or drafts/**)`)
    return {
      // a link to a folder is indexed as the folder it points to
      path: await realpath(abs),
      kind: st.isDirectory() ? 'dir' : 'file',
      ...(rules.include?.length ? { include: rules.include } : {}),
      ...(rules.exclude?.length ? { exclude: rules.exclude } : {}),
      maxBytes: rules.maxBytes ?? DEFAULT_MAX_BYTES,
    }
  }

  async #sync(
    catalog: Catalog,
    scope: Root[],
    onProgress?: (done: number, total: number) => void,
  ): Promise<SyncReport> {
    const { syncDocs } = await import('./sync.js')
    const cipher = await this.deps.cipher()
    const embedder = this.deps.embedder()
    // another embedder now: every file is embedded again, into its collection; the old one is emptied after
    const before = catalog.embedder
    const again = before !== undefined && before !== embedder.id && Object.keys(catalog.files).length > 0
    const all = again ? catalog.roots : scope
    // said only once every file is in the new collection: an interrupted sync starts over, losing nothing
    if (!again) catalog.embedder = embedder.id
    let store: Promise<MemoryStore> | undefined
    const report = await syncDocs({
      catalog,
      scope: all,
      store: () => (store ??= this.#store(embedder.id)),
      embedder,
      hash: (t) => cipher.keyedHash(t),
      redactPatterns: this.deps.redactPatterns ?? [],
      save: () => writeCatalog(this.deps.home, cipher, catalog),
      again,
      ...(onProgress ? { onProgress } : {}),
    })
    if (again) {
      catalog.embedder = embedder.id
      await (await this.#store(before)).delete({ all: true })
    }
    return report
  }

  /** deletes the files' passages and drops them from the catalog; the number of passages */
  async #drop(catalog: Catalog, files: DocFile[]): Promise<number> {
    const ids = files.flatMap((f) => passageIds(f))
    for (const f of files) delete catalog.files[f.path]
    if (ids.length === 0) return 0
    const { deleteIds } = await import('./sync.js')
    return deleteIds(await this.#store(catalog.embedder ?? this.deps.embedder().id), ids)
  }

  /**
   * `#locked`, then, when `removed` says passages went, purges them from the store's files
   * (forget-store.ts: the collection rebuilt with the shared server stopped, then vacuumed), as
   * `memory forget` does for memories: a delete alone leaves them in Chroma's write log and index.
   */
  async #lockedThenPurge<T>(
    opts: PurgeOptions,
    removed: (result: T) => boolean,
    fn: (catalog: Catalog) => Promise<T>,
  ): Promise<T> {
    let embedderId: string | undefined
    const result = await this.#locked(async (catalog) => {
      embedderId = catalog.embedder ?? this.deps.embedder().id
      return fn(catalog)
    })
    if (opts.purge !== false && embedderId && removed(result)) {
      opts.onPurge?.()
      const { purgeDeleted } = await import('../forget-store.js')
      const { collectionFor } = await import('../open-store.js')
      await purgeDeleted({
        home: this.deps.home,
        env: this.deps.env,
        cipher: await this.deps.cipher(),
        collection: docsCollection(collectionFor(embedderId)),
        store: await this.#store(embedderId),
      })
    }
    return result
  }

  /** runs `fn` on the catalog as its only writer, and writes it after (also when `fn` fails part-way) */
  async #locked<T>(fn: (catalog: Catalog) => Promise<T>): Promise<T> {
    const cipher = await this.deps.cipher()
    return withCatalogLock(this.deps.home, async () => {
      const catalog = await readCatalog(this.deps.home, cipher)
      try {
        return await fn(catalog)
      } finally {
        await writeCatalog(this.deps.home, cipher, catalog)
      }
    })
  }

  async #store(embedderId: string): Promise<ChromaMemoryStoreApi> {
    const { collectionFor, openStore } = await import('../open-store.js')
    await recordFirstUse(this.deps.home, embedderId)
    return openStore({
      home: this.deps.home,
      env: this.deps.env,
      cipher: await this.deps.cipher(),
      embedderId,
      collection: docsCollection(collectionFor(embedderId)),
      sealedText: 'metadata',
    })
  }
}
