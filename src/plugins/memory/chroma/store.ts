/**
 * The memory store on Chroma (chromadb 3.5.0 client; cosine space; embeddings always supplied).
 *
 * What Chroma holds per record (everything else stays in the process):
 *
 *   id         the record id (`m_…`)
 *   embedding  the vector (needed in the clear for similarity search)
 *   document   `cipher.seal(text)`: no plaintext reaches Chroma (or the metadata key `text_sealed`, with
 *              `sealedText: 'metadata'`: Chroma indexes every document for full-text search, which
 *              for sealed text finds nothing and made adding passages of a kilobyte 3× slower)
 *   metadata   chain, runId, createdAt (ms), kind, recalls, lastRecalledAt?, v (layout version),
 *              session_tag? and session_sealed? (below), ref_sealed? (an imported memory's own id,
 *              `cipher.seal(JSON)`: it may be anything the user chose, so it is kept like text)
 *
 * Session names may themselves be private ("divorce-lawyer"), so they are not stored in the clear:
 * `session_sealed` is `cipher.seal(name)` (to give the name back on reads), and `session_tag` is
 * HMAC-SHA256(tagKey, name) (hex), which is what filters by session use. A plain hash would be
 * reversible by guessing common names; the HMAC key is 32 random bytes created with the
 * collection and kept in the collection's metadata *sealed* by the cipher (`mirador_tag_key`), so
 * the store works with any Cipher, a wrong key fails at open (MEMORY_CRYPTO) instead of silently
 * matching nothing, and changing the memory key means re-sealing one value (plus the documents).
 *
 * `get` and `delete` first list matching ids/metadata (Chroma's get has no ordering), sort by
 * createdAt client-side (oldest first, then id), and only then fetch and open the documents of the
 * page asked for. That loads the metadata of every matching record: fine for personal memory
 * (tens of thousands of records, about 200 bytes each), not meant for millions.
 *
 * The client never embeds: the collection is opened with an embedding function that throws (so
 * the client neither loads nor warns about `@chroma-core/default-embed`, and a call that would
 * embed fails loudly instead of downloading a model). chromadb is imported lazily.
 *
 * A record that does not open (not sealed by this key: added by something other than Mirador,
 * altered, or sealed with an earlier key) is left out of what reads return and listed by
 * `unreadable()`, so one bad record never makes every recall fail; `delete` still reaches it.
 *
 * `compact` rebuilds the collection with only the records it still has: Chroma keeps deleted
 * vectors in its HNSW files (marked, not erased) and keeps its write log until its index catches
 * up, so a delete alone leaves what was forgotten on disk. The copy is made under another name
 * (`<name>--compact`), then the old collection is dropped and the copy renamed; a copy left by an
 * interrupted compact is taken up when the collection itself is missing, else discarded.
 */
import { createHmac, randomBytes } from 'node:crypto'
import type { ChromaClient, Collection, EmbeddingFunction, Metadata, Where } from 'chromadb'
import { MiradorError } from '../../../engine/errors.js'
import { TOKEN_HEADER } from './guard.js'
import type {
  Cipher,
  MemoryFilter,
  Unreadable,
  MemoryKind,
  MemoryMeta,
  MemoryRecord,
  MemoryStore,
  StoredMemory,
  StoredVector,
  VectorHit,
  WordIndexedStore,
} from '../types.js'

export const DEFAULT_COLLECTION = 'mirador-memory'
const LAYOUT_VERSION = 1
const TAG_KEY_META = 'mirador_tag_key'
const PAGE = 1000
const COMPACT_SUFFIX = '--compact'

export interface ChromaStoreOptions {
  /** the server, e.g. http://127.0.0.1:41234 (from ensureChromaServer) */
  url: string
  collection?: string
  cipher: Cipher
  /** the bundled server's guard token (sent as x-chroma-token); none for a CHROMA_URL server */
  token?: string
  /** where the sealed text goes (see the module comment); default 'document' */
  sealedText?: 'document' | 'metadata'
  /** called before each operation (pass a touchChromaServer: keeps the bundled server from idling out) */
  onUse?: () => void | Promise<void>
  /**
   * called once when the server cannot be reached (it may have stopped for idleness): returns the
   * server to use instead (ensureChromaServer again), after which the operation is retried once
   */
  reconnect?: () => Promise<{ url: string; token?: string }>
}

/** What the Chroma store offers beyond MemoryStore: the server it uses, an index of words, rebuilding, dropping. */
export interface ChromaMemoryStoreApi extends MemoryStore, WordIndexedStore {
  readonly url: string
  unreadable(): Unreadable[]
  /** rebuilds the collection from the records it has (see the module comment) */
  compact(): Promise<void>
  /** deletes the whole collection (its key with it); returns how many records it held */
  drop(): Promise<number>
}

/** Opens (creating if needed) the collection and returns the MemoryStore on it. */
export async function createChromaStore(opts: ChromaStoreOptions): Promise<ChromaMemoryStoreApi> {
  const store = new ChromaMemoryStore(opts)
  await store.connect(opts.url, opts.token)
  return store
}

interface Conn {
  url: string
  token: string | undefined
  client: ChromaClient
  col: Collection
  tagKey: Buffer
  /** the server's largest batch, asked for when a batch is first written (not on the way to a recall) */
  maxBatch?: number
}

class ChromaMemoryStore implements ChromaMemoryStoreApi {
  private conn: Conn | undefined
  private readonly name: string
  private readonly skipped = new Map<string, string>()

  constructor(private readonly opts: ChromaStoreOptions) {
    this.name = opts.collection ?? DEFAULT_COLLECTION
  }

  get url(): string {
    return this.conn?.url ?? this.opts.url
  }

  async connect(url: string, token: string | undefined): Promise<void> {
    this.conn = await this.guard(url, 'open the memory collection', async () => {
      const { ChromaClient } = await import('chromadb')
      const u = parseUrl(url)
      const client = new ChromaClient({
        host: u.hostname,
        port: u.port,
        ssl: u.ssl,
        ...(token ? { headers: { [TOKEN_HEADER]: token } } : {}),
      })
      const col =
        (await openCollection(client, this.name)) ??
        (await takeUpCompacted(client, this.name)) ??
        (await client.getOrCreateCollection({
          name: this.name,
          embeddingFunction: SUPPLIED_ONLY,
          configuration: { hnsw: { space: 'cosine' } },
          // used only when the collection is created; an existing one keeps its own key
          metadata: {
            [TAG_KEY_META]: this.opts.cipher.seal(randomBytes(32).toString('hex')),
            mirador_v: LAYOUT_VERSION,
          },
        }))
      const space = (col.configuration as { hnsw?: { space?: string } | null } | undefined)?.hnsw?.space
      if (space && space !== 'cosine') {
        throw new MiradorError(
          'MEMORY_UNAVAILABLE',
          `the Chroma collection "${this.name}" at ${url} uses the ${space} space; Mirador's memory needs cosine. ` +
            'Use another collection name or delete that collection.',
        )
      }
      let sealedKey = col.metadata?.[TAG_KEY_META]
      if (typeof sealedKey !== 'string') {
        // a collection made by something else: give it a key, keeping its metadata
        sealedKey = this.opts.cipher.seal(randomBytes(32).toString('hex'))
        await col.modify({
          metadata: { ...(col.metadata ?? {}), [TAG_KEY_META]: sealedKey, mirador_v: LAYOUT_VERSION },
        })
      }
      const tagKey = Buffer.from(this.opts.cipher.open(sealedKey), 'hex')
      return { url, token, client, col, tagKey }
    })
  }

  unreadable(): Unreadable[] {
    return [...this.skipped].map(([id, reason]) => ({ id, reason }))
  }

  async add(records: MemoryRecord[]): Promise<void> {
    if (records.length === 0) return
    const dim = records[0]!.embedding.length
    const ids: string[] = []
    const embeddings: number[][] = []
    const documents: string[] = []
    const metadatas: Metadata[] = []
    for (const r of records) {
      checkRecord(r, dim)
      ids.push(r.id)
      embeddings.push(r.embedding)
      const sealed = this.opts.cipher.seal(r.text)
      const md = this.toMetadata(r.meta)
      if (this.opts.sealedText === 'metadata') md.text_sealed = sealed
      else documents.push(sealed)
      metadatas.push(md)
    }
    await this.op('add memories', async (c) => {
      const batch = await maxBatch(c)
      for (let i = 0; i < ids.length; i += batch) {
        const end = i + batch
        await c.col.add({
          ids: ids.slice(i, end),
          embeddings: embeddings.slice(i, end),
          ...(documents.length ? { documents: documents.slice(i, end) } : {}),
          metadatas: metadatas.slice(i, end),
        })
      }
    })
  }

  async query(embedding: number[], k: number, filter: { session?: string } = {}): Promise<VectorHit[]> {
    if (!Number.isInteger(k) || k <= 0) return []
    checkVector(embedding, embedding.length, 'query embedding')
    const res = await this.op('search memory', async (c) => {
      const where = filter.session !== undefined ? { session_tag: this.tag(c, filter.session) } : undefined
      return c.col.query({
        queryEmbeddings: [embedding],
        nResults: k,
        include: ['documents', 'metadatas', 'distances', 'embeddings'],
        ...(where ? { where } : {}),
      })
    })
    const ids = res.ids[0] ?? []
    const hits: VectorHit[] = []
    for (let i = 0; i < ids.length; i++) {
      const embedding = res.embeddings[0]?.[i]
      const m = this.readable(ids[i]!, res.documents[0]?.[i] ?? null, res.metadatas[0]?.[i] ?? null)
      if (m)
        hits.push({
          ...m,
          distance: res.distances[0]?.[i] ?? Number.NaN,
          ...(embedding ? { embedding: Array.from(embedding) } : {}),
        })
    }
    return hits
  }

  async get(filter: MemoryFilter & { limit?: number; offset?: number }): Promise<StoredMemory[]> {
    if (filter.ids && filter.ids.length === 0) return []
    const limit = filter.limit ?? Number.POSITIVE_INFINITY
    const offset = Math.max(0, filter.offset ?? 0)
    if (limit <= 0) return []
    return this.op('read memory', async (c) => {
      const where = this.where(c, filter)
      const paged = filter.limit !== undefined || filter.offset !== undefined
      if (!paged) {
        const rows = await this.list(c, filter.ids, where, ['documents', 'metadatas'])
        return this.readableRows(sortRows(rows))
      }
      const page = sortRows(await this.list(c, filter.ids, where, ['metadatas'])).slice(offset, offset + limit)
      const wanted = page.map((r) => r.id)
      const docs = new Map<string, { document: string | null; metadata: Metadata | null }>()
      for (let i = 0; i < wanted.length; i += PAGE) {
        const r = await c.col.get({ ids: wanted.slice(i, i + PAGE), include: ['documents', 'metadatas'] })
        r.ids.forEach((id, j) => docs.set(id, { document: r.documents[j] ?? null, metadata: r.metadatas[j] ?? null }))
      }
      // a record deleted between the two reads is left out
      return this.readableRows(wanted.filter((id) => docs.has(id)).map((id) => ({ id, ...docs.get(id)! })))
    })
  }

  async listIds(): Promise<string[]> {
    return this.op('list memory', async (c) => {
      // ids alone, in one answer: about 20 ms for 10,000 (in pages of 1,000, 90 ms)
      const r = await c.col.get({ include: [] })
      return r.ids
    })
  }

  async withVectors(ids: string[]): Promise<StoredVector[]> {
    if (ids.length === 0) return []
    const r = await this.op('read memory', (c) => c.col.get({ ids, include: ['documents', 'metadatas', 'embeddings'] }))
    const out: StoredVector[] = []
    r.ids.forEach((id, i) => {
      const m = this.readable(id, r.documents[i] ?? null, r.metadatas[i] ?? null)
      const embedding = r.embeddings[i]
      if (m && embedding) out.push({ ...m, embedding: Array.from(embedding) })
    })
    return out
  }

  async delete(filter: MemoryFilter): Promise<number> {
    const none = [filter.ids, filter.session, filter.before, filter.since].every((x) => x === undefined)
    if (!filter.all && none) {
      throw new MiradorError(
        'USAGE',
        'refusing to delete memory with an empty filter: give ids, a session, a date, or all.',
      )
    }
    if (filter.ids && filter.ids.length === 0) return 0
    return this.op('delete memory', async (c) => {
      const rows = await this.list(c, filter.ids, this.where(c, filter), [])
      const ids = rows.map((r) => r.id)
      const batch = await maxBatch(c)
      for (let i = 0; i < ids.length; i += batch) await c.col.delete({ ids: ids.slice(i, i + batch) })
      for (const id of ids) this.skipped.delete(id)
      return ids.length
    })
  }

  async compact(): Promise<void> {
    await this.op('compact memory', async (c) => {
      const copyName = `${this.name}${COMPACT_SUFFIX}`
      await dropIfThere(c.client, copyName) // a copy an interrupted compact left
      const copy = await c.client.createCollection({
        name: copyName,
        embeddingFunction: SUPPLIED_ONLY,
        configuration: { hnsw: { space: 'cosine' } },
        ...(c.col.metadata ? { metadata: c.col.metadata } : {}),
      })
      const batch = await maxBatch(c)
      for (let offset = 0; ; offset += batch) {
        const r = await c.col.get({ include: ['embeddings', 'documents', 'metadatas'], limit: batch, offset })
        if (r.ids.length > 0) {
          await copy.add({
            ids: r.ids,
            embeddings: r.embeddings as number[][],
            // passages keep their text in metadata: their documents stay absent
            ...(r.documents.some((d) => d !== null) ? { documents: r.documents.map((d) => d ?? '') } : {}),
            metadatas: r.metadatas.map((m) => m ?? { v: LAYOUT_VERSION }),
          })
        }
        if (r.ids.length < batch) break
      }
      await c.client.deleteCollection({ name: this.name })
      await copy.modify({ name: this.name })
    })
    const c = this.conn!
    await this.connect(c.url, c.token)
  }

  async drop(): Promise<number> {
    return this.op('forget all memory', async (c) => {
      const n = await c.col.count()
      await dropIfThere(c.client, `${this.name}${COMPACT_SUFFIX}`)
      await c.client.deleteCollection({ name: this.name })
      this.skipped.clear()
      return n
    })
  }

  async count(): Promise<number> {
    return this.op('count memory', (c) => c.col.count())
  }

  async updateMeta(id: string, patch: Partial<Pick<MemoryMeta, 'recalls' | 'lastRecalledAt'>>): Promise<void> {
    const m: Metadata = {}
    if (patch.recalls !== undefined) {
      if (!Number.isInteger(patch.recalls) || patch.recalls < 0)
        throw new MiradorError('INTERNAL', `recalls must be a whole number ≥ 0, got ${patch.recalls}`)
      m.recalls = patch.recalls
    }
    if (patch.lastRecalledAt !== undefined) {
      if (!Number.isFinite(patch.lastRecalledAt))
        throw new MiradorError('INTERNAL', `lastRecalledAt must be a time in ms, got ${patch.lastRecalledAt}`)
      m.lastRecalledAt = Math.round(patch.lastRecalledAt)
    }
    if (Object.keys(m).length === 0) return
    // metadata only: Chroma merges the given keys into the record's metadata; an unknown id is a no-op
    await this.op('update memory', (c) => c.col.update({ ids: [id], metadatas: [m] }))
  }

  // -------------------------------------------------------------------------------------------

  private tag(c: Conn, session: string): string {
    return createHmac('sha256', c.tagKey).update(`session\0${session}`, 'utf8').digest('hex')
  }

  private where(c: Conn, f: MemoryFilter): Where | undefined {
    const clauses: Where[] = []
    if (f.session !== undefined) clauses.push({ session_tag: this.tag(c, f.session) })
    if (f.before !== undefined) clauses.push({ createdAt: { $lt: f.before } })
    if (f.since !== undefined) clauses.push({ createdAt: { $gte: f.since } })
    if (clauses.length === 0) return undefined
    return clauses.length === 1 ? clauses[0] : { $and: clauses }
  }

  /** every matching row, in pages (Chroma caps nothing, but one huge response is avoidable) */
  private async list(
    c: Conn,
    ids: string[] | undefined,
    where: Where | undefined,
    include: ('documents' | 'metadatas')[],
  ): Promise<Row[]> {
    const out: Row[] = []
    for (let offset = 0; ; offset += PAGE) {
      const r = await c.col.get({ ...(ids ? { ids } : {}), ...(where ? { where } : {}), include, limit: PAGE, offset })
      r.ids.forEach((id, i) => out.push({ id, document: r.documents[i] ?? null, metadata: r.metadatas[i] ?? null }))
      if (r.ids.length < PAGE) return out
    }
  }

  private toMetadata(meta: MemoryMeta): Metadata {
    const m: Metadata = {
      v: LAYOUT_VERSION,
      chain: meta.chain,
      runId: meta.runId,
      createdAt: Math.round(meta.createdAt),
      kind: meta.kind,
      recalls: meta.recalls,
    }
    if (meta.lastRecalledAt !== undefined) m.lastRecalledAt = Math.round(meta.lastRecalledAt)
    if (meta.session !== undefined) {
      m.session_tag = this.tag(this.conn!, meta.session)
      m.session_sealed = this.opts.cipher.seal(meta.session)
    }
    if (meta.ref !== undefined) m.ref_sealed = this.opts.cipher.seal(JSON.stringify(meta.ref))
    return m
  }

  private toStored(id: string, document: string | null, md: Metadata | null): StoredMemory {
    const m = md ?? {}
    const meta: MemoryMeta = {
      chain: str(m.chain),
      runId: str(m.runId),
      createdAt: num(m.createdAt) ?? 0,
      kind: (str(m.kind) || 'turn') as MemoryKind,
      recalls: num(m.recalls) ?? 0,
    }
    const last = num(m.lastRecalledAt)
    if (last !== undefined) meta.lastRecalledAt = last
    if (typeof m.session_sealed === 'string') meta.session = this.opts.cipher.open(m.session_sealed)
    if (typeof m.ref_sealed === 'string') meta.ref = JSON.parse(this.opts.cipher.open(m.ref_sealed)) as string | number
    // a passage's text is in metadata (sealedText: 'metadata'): its document is null, or '' after a compact
    const sealed = document || (typeof m.text_sealed === 'string' ? m.text_sealed : null)
    return { id, text: sealed === null ? '' : this.opts.cipher.open(sealed), meta }
  }

  /** the record as a memory, or undefined (and noted in `skipped`) when it does not open */
  private readable(id: string, document: string | null, md: Metadata | null): StoredMemory | undefined {
    try {
      const m = this.toStored(id, document, md)
      this.skipped.delete(id)
      return m
    } catch (err) {
      if (!MiradorError.is(err, 'MEMORY_CRYPTO')) throw err
      this.skipped.set(id, err.message)
      return undefined
    }
  }

  private readableRows(rows: Row[]): StoredMemory[] {
    const out: StoredMemory[] = []
    for (const r of rows) {
      const m = this.readable(r.id, r.document, r.metadata)
      if (m) out.push(m)
    }
    return out
  }

  /**
   * runs `fn` with the connection: use mark, error mapping, one reconnect on a lost server, one
   * reopening of a collection rebuilt or dropped behind this store's back (compact in another process)
   */
  private async op<T>(what: string, fn: (c: Conn) => Promise<T>): Promise<T> {
    await this.opts.onUse?.()
    const c = this.conn
    if (!c) throw new MiradorError('INTERNAL', 'the Chroma store is not connected')
    try {
      return await this.guard(c.url, what, () => fn(c))
    } catch (err) {
      if (!MiradorError.is(err, 'MEMORY_UNAVAILABLE')) throw err
      if (err.details?.gone === true) await this.connect(c.url, c.token)
      else if (this.opts.reconnect && err.details?.connection === true) {
        const next = await this.opts.reconnect()
        await this.connect(next.url, next.token)
      } else throw err
      const again = this.conn!
      return this.guard(again.url, what, () => fn(again))
    }
  }

  private async guard<T>(url: string, what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      throw toMiradorError(err, url, what)
    }
  }
}

/** the collection, or undefined when there is none by that name */
async function openCollection(client: ChromaClient, name: string): Promise<Collection | undefined> {
  try {
    return await client.getCollection({ name, embeddingFunction: SUPPLIED_ONLY })
  } catch (err) {
    if ((err as Error)?.name === 'ChromaNotFoundError') return undefined
    throw err
  }
}

/** the complete copy of a compact interrupted after the old collection was dropped, renamed back */
async function takeUpCompacted(client: ChromaClient, name: string): Promise<Collection | undefined> {
  const copy = await openCollection(client, `${name}${COMPACT_SUFFIX}`)
  if (!copy) return undefined
  await copy.modify({ name })
  return copy
}

async function dropIfThere(client: ChromaClient, name: string): Promise<void> {
  try {
    await client.deleteCollection({ name })
  } catch (err) {
    if ((err as Error)?.name !== 'ChromaNotFoundError') throw err
  }
}

async function maxBatch(c: Conn): Promise<number> {
  c.maxBatch ??= Math.max(1, Math.min(PAGE * 5, await c.client.getMaxBatchSize()))
  return c.maxBatch
}

interface Row {
  id: string
  document: string | null
  metadata: Metadata | null
}

function sortRows(rows: Row[]): Row[] {
  return rows.sort(
    (a, b) =>
      (num(a.metadata?.createdAt) ?? 0) - (num(b.metadata?.createdAt) ?? 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  )
}

/** Chroma errors → MiradorError: unreachable, 5xx, auth → MEMORY_UNAVAILABLE; a bad request is our bug. */
export function toMiradorError(err: unknown, url: string, what: string): MiradorError {
  if (err instanceof MiradorError) return err
  const e = err as Error
  const name = e?.name ?? ''
  const msg = e?.message ?? String(err)
  switch (name) {
    case 'ChromaConnectionError':
      return new MiradorError(
        'MEMORY_UNAVAILABLE',
        `cannot ${what}: Chroma at ${url} cannot be reached. ` +
          'Retry (Mirador restarts its local Chroma), check CHROMA_URL if you set it, or run without memory.',
        { cause: err, details: { url, connection: true } },
      )
    case 'ChromaServerError':
      return new MiradorError(
        'MEMORY_UNAVAILABLE',
        `cannot ${what}: Chroma at ${url} failed (${msg}). ` +
          'See its log (for the local server: $MIRADOR_HOME/memory/chroma.log) and retry.',
        {
          cause: err,
          details: { url },
        },
      )
    case 'ChromaAuthError': // ChromaUnauthorizedError's name
    case 'ChromaUnauthorizedError':
    case 'ChromaForbiddenError':
      return new MiradorError(
        'MEMORY_UNAVAILABLE',
        `cannot ${what}: Chroma at ${url} refused access (${msg}). Check the server's authentication settings.`,
        { cause: err, details: { url } },
      )
    case 'ChromaNotFoundError':
      return new MiradorError(
        'MEMORY_UNAVAILABLE',
        `cannot ${what}: the memory collection at ${url} is gone (dropped or rebuilt by another process). Retry.`,
        { cause: err, details: { url, gone: true } },
      )
    case 'ChromaRateLimitError':
    case 'ChromaQuotaExceededError':
      return new MiradorError('MEMORY_UNAVAILABLE', `cannot ${what}: Chroma at ${url} is over a limit (${msg}).`, {
        cause: err,
        details: { url },
      })
    default:
      return new MiradorError('INTERNAL', `cannot ${what}: Chroma at ${url} rejected the request: ${msg}`, {
        cause: err,
        details: { url },
      })
  }
}

/** The embedding function Mirador gives the client: it never embeds (Mirador supplies vectors). */
const SUPPLIED_ONLY: EmbeddingFunction = {
  name: 'mirador-supplied',
  async generate(): Promise<number[][]> {
    throw new MiradorError('INTERNAL', 'the Chroma client was asked to embed text; Mirador always supplies embeddings')
  },
}

function parseUrl(url: string): { hostname: string; port: number; ssl: boolean } {
  let u: URL
  try {
    u = new URL(url)
  } catch (err) {
    throw new MiradorError('MEMORY_UNAVAILABLE', `"${url}" is not a Chroma URL (expected http://host:port)`, {
      cause: err,
    })
  }
  const ssl = u.protocol === 'https:'
  // URL hostnames of IPv6 literals keep their brackets, which is what a base URL needs
  return { hostname: u.hostname, port: u.port ? Number(u.port) : ssl ? 443 : 80, ssl }
}

function checkVector(v: unknown, dim: number, what: string): void {
  if (
    !Array.isArray(v) ||
    v.length === 0 ||
    v.length !== dim ||
    !v.every((x) => typeof x === 'number' && Number.isFinite(x))
  ) {
    throw new MiradorError('INTERNAL', `${what} must be ${dim} finite numbers`)
  }
}

function checkRecord(r: MemoryRecord, dim: number): void {
  if (typeof r.id !== 'string' || r.id === '') throw new MiradorError('INTERNAL', 'a memory record has no id')
  checkVector(r.embedding, dim, `the embedding of ${r.id} (all records of one add share a dimension)`)
  if (typeof r.text !== 'string') throw new MiradorError('INTERNAL', `memory ${r.id} has no text`)
  if (!Number.isFinite(r.meta?.createdAt)) throw new MiradorError('INTERNAL', `memory ${r.id} has no createdAt`)
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : ''
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}
