/**
 * Candidates by words over every memory (a WordSource for recall.ts): an inverted index of the
 * store's memories (lib/word-index.ts), kept in this process's memory only, current with the store.
 * The vector search brings a sentence encoder's nearest memories; a memory whose only tie to the
 * question is a name ("Who is Bertrand Lefort?") can rank far below them by vector, and BM25 over
 * every memory ranks it first. Memories are sealed in the store, so the index is built from the
 * records opened in memory (never written anywhere), by the process that keeps the key: the memory
 * service (service/service.ts), `memory search` and `mirador mcp` (MemoryPlugin.searchRelevant, which
 * refreshes before each search: nothing tells it what runs write), and the recall bench
 * over its in-memory store.
 *
 * Runs add memories straight to the store, pruning and `memory forget` delete, imports add many with
 * their own dates. A search never waits for the store's news (it answers from the index as it is,
 * reading only its answer's records): the index learns of changes from the store in the background.
 *
 * - first use: every memory is read and indexed (0.6–0.9 s at 10,000 memories on the bundled
 *   server, most of it reading and opening them); the search waits for it;
 * - `refresh()`: the count and the memories made since the newest one indexed (two small requests);
 *   the memory service calls it when a run (or `memory import`) tells it it wrote memories, and
 *   answers only once it is done, so a memory the last run made is found by the next search;
 * - `keepFresh(ms)`: the same every `ms` while no search is out (the service: every 10 s), for
 *   what writes without telling (a reindex, another tool): at most that long (plus the refresh)
 *   before the index knows of it;
 * - when the store then holds more than the index knows (an import of older memories), every id is
 *   listed (ids only) and the missing ones read and indexed;
 * - when it holds fewer (deleted), the same listing drops them, after what is queued: a deleted
 *   memory the index still holds is never returned, since the answer's records are read from the
 *   store, and those it no longer has are left out and forgotten.
 *
 * Records that do not open with the key (store.get leaves them out) are remembered by id, so they
 * are counted and not read again.
 */
import { WordIndex } from '../../lib/word-index.js'
import type { StoredMemory, StoredVector, WordIndexedStore, WordSource } from './types.js'

/** ids read per request when catching up */
const READ_BATCH = 1000

export class StoreWords implements WordSource {
  readonly #store: WordIndexedStore
  readonly #index = new WordIndex()
  readonly #unreadable = new Set<string>()
  #built = false
  /** the newest createdAt indexed that is not in the future: what `since` asks from */
  #newest = 0
  /** every change to the index goes through this queue, one at a time */
  #queue: Promise<void> = Promise.resolve()
  /** a refresh queued and not started yet: a later call shares it (it reads the store after that call) */
  #nextRefresh?: Promise<void>
  #tidyQueued = false
  /** searches out: keepFresh's ticks leave the store to them */
  #searching = 0

  constructor(store: WordIndexedStore) {
    this.#store = store
  }

  /** memories indexed */
  get size(): number {
    return this.#index.size
  }

  /** whether the first reading of every memory is done (search waits for it, when it is not) */
  get ready(): boolean {
    return this.#built
  }

  /** Brings the index up to date with the store: what was written before this call is indexed when it resolves. */
  refresh(): Promise<void> {
    this.#nextRefresh ??= this.#enqueue(() => {
      this.#nextRefresh = undefined
      return this.#sync()
    })
    return this.#nextRefresh
  }

  /** Starts building (or refreshing) the index without waiting for it; a failure is tried again by the next. */
  warm(): void {
    this.refresh().catch(() => {})
  }

  /**
   * Refreshes every `ms` while no search is out, until the returned stop is called; the timer never
   * keeps the process alive.
   */
  keepFresh(ms: number): () => void {
    const timer = setInterval(() => {
      if (this.#searching === 0) this.warm()
    }, ms)
    timer.unref()
    return () => clearInterval(timer)
  }

  /**
   * The best `n` memories by words (of a session, when given), with their vectors: from the index as
   * it is (only the first search waits, for the first reading of every memory), its answer's records
   * read from the store, so a memory deleted since it was indexed is left out (and forgotten).
   */
  async search(query: string, n: number, filter: { session?: string } = {}): Promise<StoredVector[]> {
    if (!this.#built) await this.refresh()
    this.#searching++
    try {
      const ids = this.#index.search(query, n, { tag: filter.session }).map((m) => m.id)
      const got = new Map((await this.#store.withVectors(ids)).map((m) => [m.id, m]))
      const out: StoredVector[] = []
      for (const id of ids) {
        const hit = got.get(id)
        if (hit) out.push(hit)
        else this.#index.remove(id) // deleted since it was indexed (or does not open any more)
      }
      return out
    } finally {
      this.#searching--
    }
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const run = this.#queue.then(fn)
    this.#queue = run.catch(() => {})
    return run
  }

  async #sync(): Promise<void> {
    if (!this.#built) {
      for (const m of await this.#store.get({ all: true })) this.#put(m)
      this.#built = true
    }
    const [count, fresh] = await Promise.all([this.#store.count(), this.#store.get({ since: this.#newest })])
    for (const m of fresh) if (!this.#index.has(m.id)) this.#put(m)
    const known = this.#index.size + this.#unreadable.size
    if (known < count) await this.#catchUp()
    else if (known > count && !this.#tidyQueued) {
      // after what is queued (a search's hits are read from the store, so a deleted one is left out)
      this.#tidyQueued = true
      setImmediate(() => {
        this.#tidyQueued = false
        this.#enqueue(() => this.#catchUp()).catch(() => {})
      })
    }
  }

  /** Lists every id: drops what the store no longer has, reads and indexes what the index lacks. */
  async #catchUp(): Promise<void> {
    const ids = await this.#store.listIds()
    const live = new Set(ids)
    for (const id of [...this.#index.ids()]) if (!live.has(id)) this.#index.remove(id)
    for (const id of this.#unreadable) if (!live.has(id)) this.#unreadable.delete(id)
    const missing = ids.filter((id) => !this.#index.has(id) && !this.#unreadable.has(id))
    for (let i = 0; i < missing.length; i += READ_BATCH) {
      const batch = missing.slice(i, i + READ_BATCH)
      const read = await this.#store.get({ ids: batch })
      for (const m of read) this.#put(m)
      // not read: it does not open (or was deleted meanwhile: the next listing drops it)
      const got = new Set(read.map((m) => m.id))
      for (const id of batch) if (!got.has(id)) this.#unreadable.add(id)
    }
  }

  #put(m: StoredMemory): void {
    this.#index.add(m.id, m.text, m.meta.session)
    if (m.meta.createdAt > this.#newest && m.meta.createdAt <= Date.now()) this.#newest = m.meta.createdAt
  }
}
