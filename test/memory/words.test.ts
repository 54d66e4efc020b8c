/**
 * Candidates by words (src/plugins/memory/words.ts) over the real Chroma store on a bundled server:
 * the store's id listing, reads with vectors and `since`; StoreWords' answers equal BM25 over the
 * memories searched (all, or one session's), come with their stored vectors, and stay current as
 * memories are added (new, or imported with older dates), deleted, or added from outside unsealed,
 * reading only what changed.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'
import { rm } from 'node:fs/promises'
import { bm25, tokenize } from '../../src/lib/bm25.js'
import { ensureChromaServer, stopChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { createChromaStore, type ChromaMemoryStoreApi } from '../../src/plugins/memory/chroma/store.js'
import type { MemoryRecord, WordIndexedStore } from '../../src/plugins/memory/types.js'
import { StoreWords } from '../../src/plugins/memory/words.js'
import { processesMentioning, rawClient, tempHome, testCipher } from '../support/chroma-helpers.js'

jest.setTimeout(30_000)

const DIM = 8
const T0 = Date.UTC(2025, 0, 1)
let home: string
let url: string
let token: string | undefined
const cipher = testCipher()

let seq = 0
function rec(text: string, createdAt: number, session?: string): MemoryRecord {
  seq++
  const embedding = Array.from({ length: DIM }, (_, i) => Math.sin(seq * (i + 1)))
  const meta = { chain: 'c', runId: `r${seq}`, createdAt, kind: 'turn' as const, recalls: 0 }
  return { id: `m_${seq.toString().padStart(3, '0')}`, text, embedding, meta: session ? { ...meta, session } : meta }
}

const MEMORIES = [
  rec('Lunch with Bertrand Lefort at the Vieux Port', T0 + 1000, 'work'),
  rec('I booked a train to Lyon for the 18th', T0 + 2000, 'travel'),
  rec('My sister lives in Lyon and hikes every weekend', T0 + 3000),
  rec('Paid 1,150 euros at Norauto Caluire for new tyres', T0 + 4000, 'travel'),
  rec('Bertrand says the train to Lyon is always late', T0 + 5000, 'work'),
]

/** bm25() over `mems`: the ids scoring > 0, best first */
function byBm25(query: string, mems: MemoryRecord[]): string[] {
  const { scores } = bm25(
    tokenize(query),
    mems.map((m) => tokenize(m.text)),
  )
  return mems
    .map((m, i) => ({ id: m.id, s: scores[i]! }))
    .filter((x) => x.s > 0)
    .sort((a, b) => b.s - a.s || (a.id < b.id ? -1 : 1))
    .map((x) => x.id)
}

/** The store, counting what StoreWords asks of it. */
function counted(store: ChromaMemoryStoreApi): { store: WordIndexedStore; calls: string[] } {
  const calls: string[] = []
  return {
    calls,
    store: {
      count: () => (calls.push('count'), store.count()),
      get: (f) => (calls.push(`get ${Object.keys(f).sort().join(',')}`), store.get(f)),
      listIds: () => (calls.push('listIds'), store.listIds()),
      withVectors: (ids) => (calls.push('withVectors'), store.withVectors(ids)),
    },
  }
}

beforeAll(async () => {
  home = await tempHome('words')
  ;({ url, token } = await ensureChromaServer({ home, env: {} }))
})

afterAll(async () => {
  await stopChromaServer(home)
  const left = processesMentioning(home)
  await rm(home, { recursive: true, force: true })
  expect(left).toEqual([])
}, 30_000)

describe('the Chroma store, for an index of words', () => {
  test('listIds gives every id; withVectors the records with their vectors; get({ since })', async () => {
    const store = await createChromaStore({ url, token, collection: 'reads', cipher })
    await store.add(MEMORIES)
    expect((await store.listIds()).sort()).toEqual(MEMORIES.map((m) => m.id))
    const got = await store.withVectors([MEMORIES[3]!.id, 'gone', MEMORIES[0]!.id])
    expect(got.map((m) => m.id).sort()).toEqual([MEMORIES[0]!.id, MEMORIES[3]!.id])
    for (const m of got) {
      const want = MEMORIES.find((x) => x.id === m.id)!
      expect(m.text).toBe(want.text)
      expect(m.meta).toEqual(want.meta)
      expect(m.embedding).toEqual(want.embedding.map((x) => expect.closeTo(x, 5)))
    }
    expect(await store.withVectors([])).toEqual([])
    expect((await store.get({ since: T0 + 4000 })).map((m) => m.id)).toEqual([MEMORIES[3]!.id, MEMORIES[4]!.id])
  })
})

describe('StoreWords', () => {
  test('answers as BM25 over every memory (or the session), with the stored vectors', async () => {
    const store = await createChromaStore({ url, token, collection: 'search', cipher })
    await store.add(MEMORIES)
    const words = new StoreWords(store)
    for (const q of ['Who is Bertrand Lefort?', 'train to Lyon', 'what did I pay at Norauto?', 'Lyon']) {
      const got = await words.search(q, 10)
      expect(got.map((m) => m.id)).toEqual(byBm25(q, MEMORIES))
      for (const m of got) expect(m.embedding).toHaveLength(DIM)
      const travel = await words.search(q, 10, { session: 'travel' })
      expect(travel.map((m) => m.id)).toEqual(
        byBm25(
          q,
          MEMORIES.filter((m) => m.meta.session === 'travel'),
        ),
      )
    }
    expect((await words.search('train to Lyon', 1)).map((m) => m.id)).toEqual(
      byBm25('train to Lyon', MEMORIES).slice(0, 1),
    )
    expect(await words.search('dentist', 5)).toEqual([])
    expect(words.size).toBe(MEMORIES.length)
  })

  test('stays current: new memories, older ones imported, deletes, records that do not open', async () => {
    const chroma = await createChromaStore({ url, token, collection: 'current', cipher })
    await chroma.add(MEMORIES)
    const { store, calls } = counted(chroma)
    const words = new StoreWords(store)
    await words.search('Lyon', 5)
    // the first search reads every memory once
    expect(calls).toContain('get all')
    calls.length = 0

    // a search asks the store for its answer's records only
    await words.search('Lyon', 5)
    expect(calls).toEqual(['withVectors'])
    calls.length = 0

    // nothing changed: a refresh asks the count and what is new since the newest indexed; no listing
    await words.refresh()
    expect(calls.sort()).toEqual(['count', 'get since'])
    calls.length = 0

    // a run remembers something new and tells the index (as it tells the memory service): found at
    // the next search, still without a listing
    const fresh = rec('Quince jam recipe from grandmother', T0 + 9000)
    await chroma.add([fresh])
    await words.refresh()
    expect((await words.search('quince', 5)).map((m) => m.id)).toEqual([fresh.id])
    expect(calls).not.toContain('listIds')
    calls.length = 0

    // an import with older dates: the count says more than the index knows, the listing finds them
    const old = rec('Quince tree planted in the garden', T0 - 9000, 'garden')
    await chroma.add([old])
    await words.refresh()
    expect((await words.search('quince', 5)).map((m) => m.id).sort()).toEqual([fresh.id, old.id].sort())
    expect((await words.search('quince', 5, { session: 'garden' })).map((m) => m.id)).toEqual([old.id])
    expect(calls).toContain('listIds')
    expect(words.size).toBe(MEMORIES.length + 2)

    // deleted: never returned, and dropped from the index soon after
    await chroma.delete({ ids: [fresh.id, MEMORIES[3]!.id] })
    expect((await words.search('quince', 5)).map((m) => m.id)).toEqual([old.id])
    // (the search dropped "fresh", its answer read from the store; Norauto's memory waits for the tidy)
    expect(words.size).toBe(MEMORIES.length + 1)
    await words.refresh()
    await new Promise((r) => setImmediate(r))
    await words.refresh()
    expect(words.size).toBe(MEMORIES.length)
    expect(await words.search('Norauto Caluire', 5)).toEqual([])

    // added from outside, not sealed: counted once, not read again at each search
    const col = await rawClient(url, token).getCollection({
      name: 'current',
      embeddingFunction: { generate: async () => [] },
    })
    await col.add({
      ids: ['intruder'],
      embeddings: [new Array<number>(DIM).fill(0.5)],
      documents: ['quince plain'],
      metadatas: [{ createdAt: 1 }],
    })
    await words.refresh()
    expect((await words.search('quince', 5)).map((m) => m.id)).toEqual([old.id])
    calls.length = 0
    await words.refresh()
    expect(calls).not.toContain('listIds')
  })

  test("a search never waits for the store's news; calls made meanwhile share one refresh", async () => {
    const chroma = await createChromaStore({ url, token, collection: 'nowait', cipher })
    await chroma.add(MEMORIES)
    const { store, calls } = counted(chroma)
    // the count never answers once the index is built: a search that waited on it would hang
    let hold = false
    const held: (() => void)[] = []
    const count = store.count
    store.count = () => (hold ? new Promise((resolve) => held.push(() => resolve(count()))) : count())
    const words = new StoreWords(store)
    await words.search('Lyon', 5)
    hold = true
    const fresh = rec('Quince jam recipe from grandmother', T0 + 9000)
    await chroma.add([fresh])
    const refreshed = words.refresh()
    await new Promise((r) => setImmediate(r))
    expect(held).toHaveLength(1) // the refresh is out, waiting on the count
    calls.length = 0
    // answered from the index as it is (the new memory is not in it yet), reading only its answer
    expect((await words.search('train to Lyon', 5)).map((m) => m.id)).toEqual(byBm25('train to Lyon', MEMORIES))
    expect(await words.search('quince', 5)).toEqual([])
    expect(calls).toEqual(['withVectors', 'withVectors'])
    // two calls while one is queued (not started) share it: one more refresh, not two
    const a = words.refresh()
    const b = words.refresh()
    expect(a).toBe(b)
    hold = false
    held.shift()!()
    await Promise.all([refreshed, a])
    expect(calls.filter((c) => c === 'count')).toHaveLength(2)
    expect((await words.search('quince', 5)).map((m) => m.id)).toEqual([fresh.id])
  })

  test('keepFresh: what was written without telling is indexed by the timer, with no search', async () => {
    const chroma = await createChromaStore({ url, token, collection: 'timer', cipher })
    await chroma.add(MEMORIES)
    const words = new StoreWords(chroma)
    await words.search('Lyon', 5)
    const fresh = rec('Quince jam recipe from grandmother', T0 + 9000)
    await chroma.add([fresh])
    const stop = words.keepFresh(50)
    try {
      while (words.size < MEMORIES.length + 1) await new Promise((r) => setTimeout(r, 20))
    } finally {
      stop()
    }
    expect((await words.search('quince', 5)).map((m) => m.id)).toEqual([fresh.id])
  })
})
