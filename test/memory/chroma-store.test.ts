/**
 * The Chroma MemoryStore against a real bundled Chroma server (one per file), checked afterwards
 * with the raw chromadb client: sealed documents, session tags, deletes, metadata updates,
 * restarts, errors, and no console output.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'
import type { Collection } from 'chromadb'
import { rm } from 'node:fs/promises'
import { MiradorError } from '../../src/engine/errors.js'
import { ensureChromaServer, stopChromaServer, touchChromaServer } from '../../src/plugins/memory/chroma/server.js'
import { createChromaStore } from '../../src/plugins/memory/chroma/store.js'
import type { MemoryRecord, MemoryStore } from '../../src/plugins/memory/types.js'
import { processesMentioning, rawClient, tempHome, testCipher } from '../support/chroma-helpers.js'
import { seededRandom } from '../support/make-lora.js'

jest.setTimeout(30_000)

const DIM = 16
let home: string
let url: string
let token: string | undefined
const cipher = testCipher()
const rand = seededRandom(7)

function vec(dim = DIM): number[] {
  return Array.from({ length: dim }, () => rand() * 2 - 1)
}
function unit(i: number): number[] {
  const v = new Array<number>(DIM).fill(0)
  v[i] = 1
  return v
}
let seq = 0
function rec(text: string, over: Partial<MemoryRecord['meta']> = {}, embedding = vec()): MemoryRecord {
  seq++
  return {
    id: `m_${seq.toString(36).padStart(4, '0')}_${Math.floor(rand() * 1e8).toString(16)}`,
    text,
    embedding,
    meta: {
      chain: 'quick-deep',
      runId: `r_${seq}`,
      createdAt: 1_700_000_000_000 + seq * 1000,
      kind: 'turn',
      recalls: 0,
      ...over,
    },
  }
}

async function raw(name: string): Promise<Collection> {
  const client = rawClient(url, token)
  return client.getCollection({ name, embeddingFunction: { generate: async () => [] } })
}

beforeAll(async () => {
  home = await tempHome('store')
  ;({ url, token } = await ensureChromaServer({ home, env: {} }))
})

afterAll(async () => {
  await stopChromaServer(home)
  const left = processesMentioning(home)
  await rm(home, { recursive: true, force: true })
  expect(left).toEqual([])
}, 30_000)

describe('ChromaStore', () => {
  let store: MemoryStore
  const NAME = 'basic'
  const secret = 'Q: what is my bank PIN?\nA: 4921, the usual one'
  const a = rec(secret, { session: 'divorce-lawyer' }, unit(0))
  const b = rec('Q: capital of France?\nA: Paris', { session: 'trivia' }, unit(1))
  const c = rec('Q: second trivia\nA: yes', { session: 'trivia', kind: 'summary' }, [
    0.9,
    0.1,
    ...new Array<number>(DIM - 2).fill(0),
  ])
  const d = rec('Q: no session\nA: fine')

  beforeAll(async () => {
    store = await createChromaStore({ url, token, collection: NAME, cipher })
    await store.add([a, b, c, d])
  })

  test('add, count, and query by cosine distance', async () => {
    expect(await store.count()).toBe(4)
    const hits = await store.query(unit(0), 2)
    expect(hits.map((h) => h.id)).toEqual([a.id, c.id])
    expect(hits[0]!.distance).toBeCloseTo(0, 5)
    expect(hits[0]!.text).toBe(secret)
    expect(hits[0]!.meta).toEqual(a.meta)
    // each hit carries its own vector (recall compares candidates with it: supersede.ts)
    expect(hits.map((h) => h.embedding)).toEqual(
      [a.embedding, c.embedding].map((v) => v.map((x) => expect.closeTo(x, 5))),
    )
    // cosine, not l2: an orthogonal unit vector is at distance 1
    const all = await store.query(unit(0), 10)
    expect(all).toHaveLength(4)
    expect(all.find((h) => h.id === b.id)!.distance).toBeCloseTo(1, 5)
    expect(await store.query(unit(0), 0)).toEqual([])
  })

  test('query within a session', async () => {
    const hits = await store.query(unit(0), 10, { session: 'trivia' })
    expect(hits.map((h) => h.id)).toEqual([c.id, b.id])
    expect(hits.every((h) => h.meta.session === 'trivia')).toBe(true)
    expect(await store.query(unit(0), 10, { session: 'nobody' })).toEqual([])
  })

  test('Chroma holds no plaintext: documents sealed, session names neither in clear nor plainly hashed', async () => {
    const col = await raw(NAME)
    const got = await col.get({ include: ['documents', 'metadatas'] })
    const dump = JSON.stringify(got)
    for (const r of [a, b, c, d]) {
      expect(dump).not.toContain(r.text)
      expect(dump).not.toContain(r.text.slice(3, 20))
    }
    expect(dump).not.toContain('divorce-lawyer')
    expect(dump).not.toContain('trivia')
    expect(dump).not.toContain('4921')
    const { createHash } = await import('node:crypto')
    expect(dump).not.toContain(createHash('sha256').update('trivia').digest('hex'))
    expect(got.documents.every((doc) => doc!.startsWith('t1:'))).toBe(true)
    const mb = got.metadatas[got.ids.indexOf(b.id)]!
    const mc = got.metadatas[got.ids.indexOf(c.id)]!
    expect(mb.session_tag).toBe(mc.session_tag) // filterable
    expect(mb.session_sealed).not.toBe(mc.session_sealed) // sealed with fresh IVs
    expect(mb).toMatchObject({
      chain: 'quick-deep',
      runId: b.meta.runId,
      createdAt: b.meta.createdAt,
      kind: 'turn',
      recalls: 0,
    })
    // the collection's HMAC key is sealed too
    expect(String(col.metadata?.mirador_tag_key)).toMatch(/^t1:/)
  })

  test('get: by ids, session, before; ordered by createdAt with limit and offset', async () => {
    expect((await store.get({ ids: [c.id, a.id] })).map((m) => m.id)).toEqual([a.id, c.id])
    expect((await store.get({ session: 'trivia' })).map((m) => m.text)).toEqual([b.text, c.text])
    expect((await store.get({ before: c.meta.createdAt })).map((m) => m.id)).toEqual([a.id, b.id])
    expect((await store.get({ session: 'trivia', before: c.meta.createdAt })).map((m) => m.id)).toEqual([b.id])
    expect((await store.get({ all: true })).map((m) => m.id)).toEqual([a.id, b.id, c.id, d.id])
    expect((await store.get({ all: true, limit: 2, offset: 1 })).map((m) => m.id)).toEqual([b.id, c.id])
    expect((await store.get({ all: true, offset: 3 })).map((m) => m.id)).toEqual([d.id])
    expect(await store.get({ ids: [] })).toEqual([])
    const [got] = await store.get({ ids: [a.id] })
    expect(got).toEqual({ id: a.id, text: a.text, meta: a.meta })
    expect((await store.get({ ids: [d.id] }))[0]!.meta.session).toBeUndefined()
  })

  test('updateMeta changes only the metadata it is given', async () => {
    const col = await raw(NAME)
    const before = await col.get({ ids: [b.id], include: ['documents', 'embeddings', 'metadatas'] })
    await store.updateMeta(b.id, { recalls: 3, lastRecalledAt: 1_700_000_999_000 })
    await store.updateMeta(b.id, {})
    await store.updateMeta('m_missing', { recalls: 1 }) // no-op
    const after = await col.get({ ids: [b.id], include: ['documents', 'embeddings', 'metadatas'] })
    expect(after.documents).toEqual(before.documents)
    expect(after.embeddings[0]!.map((x) => Math.round(x * 1e6))).toEqual(
      before.embeddings[0]!.map((x) => Math.round(x * 1e6)),
    )
    expect(after.metadatas[0]).toEqual({ ...before.metadatas[0], recalls: 3, lastRecalledAt: 1_700_000_999_000 })
    const [m] = await store.get({ ids: [b.id] })
    expect(m!.meta).toEqual({ ...b.meta, recalls: 3, lastRecalledAt: 1_700_000_999_000 })
    expect(m!.text).toBe(b.text)
  })

  test('a second store on the same collection shares the session tags; another key is refused', async () => {
    const again = await createChromaStore({ url, token, collection: NAME, cipher })
    expect((await again.get({ session: 'trivia' })).map((m) => m.id)).toEqual([b.id, c.id])
    const err = await createChromaStore({ url, token, collection: NAME, cipher: testCipher() }).catch((e: unknown) => e)
    expect(MiradorError.is(err, 'MEMORY_CRYPTO')).toBe(true)
  })
})

describe('delete', () => {
  const NAME = 'deletes'
  let store: MemoryStore
  const recs = [
    rec('one', { session: 's1' }),
    rec('two', { session: 's1' }),
    rec('three', { session: 's2' }),
    rec('four'),
    rec('five', { session: 's2' }),
    rec('six'),
  ]
  const ids = async (): Promise<string[]> => (await (await raw(NAME)).get({ include: [] })).ids.sort()

  beforeAll(async () => {
    store = await createChromaStore({ url, token, collection: NAME, cipher })
    await store.add(recs)
  })

  test('by id, session, date and all, counting what went (checked with the raw client)', async () => {
    expect(await store.delete({ ids: [recs[0]!.id, 'm_not_there'] })).toBe(1)
    expect(await ids()).toEqual(
      recs
        .slice(1)
        .map((r) => r.id)
        .sort(),
    )
    expect(await store.delete({ ids: [] })).toBe(0)

    expect(await store.delete({ session: 's2' })).toBe(2)
    expect(await ids()).toEqual([recs[1]!, recs[3]!, recs[5]!].map((r) => r.id).sort())
    expect(await store.delete({ session: 's2' })).toBe(0)

    expect(await store.delete({ before: recs[3]!.meta.createdAt + 1 })).toBe(2) // two and four
    expect(await ids()).toEqual([recs[5]!.id])

    await store.add([rec('seven', { session: 's1' })])
    expect(await store.delete({ all: true })).toBe(2)
    expect(await ids()).toEqual([])
    expect(await store.count()).toBe(0)
  })

  test('an empty filter deletes nothing and says so', async () => {
    await store.add([rec('kept')])
    const err = await store.delete({}).catch((e: unknown) => e)
    expect(MiradorError.is(err, 'USAGE')).toBe(true)
    expect(await store.count()).toBe(1)
  })
})

describe('records that do not open', () => {
  test('one added from outside is skipped and reported; recall and listing go on; delete reaches it', async () => {
    const NAME = 'foreign'
    const store = await createChromaStore({ url, token, collection: NAME, cipher })
    const mine = [rec('Q: my own\nA: sealed', {}, unit(0)), rec('Q: also mine\nA: yes', { session: 's' }, unit(1))]
    await store.add(mine)
    // what a process with the token but not the key (or an older Mirador, or a bug) could write
    const col = await raw(NAME)
    await col.add({
      ids: ['intruder'],
      embeddings: [unit(0)],
      documents: ['plain text, never sealed'],
      metadatas: [{ createdAt: 1, chain: 'x' }],
    })
    await col.add({
      ids: ['bad-session'],
      embeddings: [unit(2)],
      documents: [cipher.seal('Q: sealed text\nA: but the session is not')],
      metadatas: [{ createdAt: 2, session_sealed: 'v1:AAAA', session_tag: 'x' }],
    })
    const hits = await store.query(unit(0), 10)
    expect(hits.map((h) => h.id).sort()).toEqual(mine.map((m) => m.id).sort())
    expect((await store.get({})).map((m) => m.id)).toEqual(mine.map((m) => m.id))
    expect((await store.get({ limit: 10 })).map((m) => m.id)).toEqual(mine.map((m) => m.id))
    expect(
      store
        .unreadable()
        .map((u) => u.id)
        .sort(),
    ).toEqual(['bad-session', 'intruder'])
    expect(store.unreadable().every((u) => u.reason.length > 0)).toBe(true)
    expect(await store.count()).toBe(4)
    expect(await store.delete({ ids: ['intruder', 'bad-session'] })).toBe(2)
    expect(store.unreadable()).toEqual([])
    expect((await col.get({ include: [] })).ids.sort()).toEqual(mine.map((m) => m.id).sort())
  })
})

describe('compact', () => {
  test('rebuilds the collection with what it holds: same records, vectors, metadata, key and space', async () => {
    const NAME = 'compact'
    const store = await createChromaStore({ url, token, collection: NAME, cipher })
    const recs = [rec('one', { session: 'a' }), rec('two'), rec('three', { session: 'a' }), rec('four')]
    await store.add(recs)
    await store.updateMeta(recs[1]!.id, { recalls: 2, lastRecalledAt: 5 })
    expect(await store.delete({ ids: [recs[0]!.id] })).toBe(1)
    const before = await (await raw(NAME)).get({ include: ['documents', 'metadatas', 'embeddings'] })
    const oldId = (await raw(NAME)).id
    await store.compact()
    const col = await raw(NAME)
    expect(col.id).not.toBe(oldId)
    const after = await col.get({ include: ['documents', 'metadatas', 'embeddings'] })
    const byId = (r: typeof before) =>
      Object.fromEntries(
        // to 1e-6: a float32 sent back through JSON may come back one unit in the last place off
        r.ids.map((id, i) => [id, [r.documents[i], r.metadatas[i], r.embeddings[i]!.map((x) => Math.round(x * 1e6))]]),
      )
    expect(byId(after)).toEqual(byId(before))
    expect((col.configuration as { hnsw?: { space?: string } }).hnsw?.space).toBe('cosine')
    // the same store, and a new one, go on: same session tags, same key
    expect((await store.get({ session: 'a' })).map((m) => m.text)).toEqual(['three'])
    const again = await createChromaStore({ url, token, collection: NAME, cipher })
    expect((await again.query(recs[3]!.embedding, 1))[0]!.id).toBe(recs[3]!.id)
  })

  test('a store whose collection another process rebuilt reopens it by name', async () => {
    const NAME = 'compact-elsewhere'
    const first = await createChromaStore({ url, token, collection: NAME, cipher })
    await first.add([rec('kept')])
    const other = await createChromaStore({ url, token, collection: NAME, cipher })
    await other.compact()
    expect((await first.get({})).map((m) => m.text)).toEqual(['kept'])
    await first.add([rec('added after')])
    expect(await other.count()).toBe(2)
  })

  test('an interrupted compact: the copy is taken up when the collection is gone, else dropped', async () => {
    const NAME = 'compact-crash'
    const store = await createChromaStore({ url, token, collection: NAME, cipher })
    await store.add([rec('survives the crash')])
    // as a compact that died after dropping the old collection, before renaming the copy
    const client = rawClient(url, token)
    const old = await raw(NAME)
    const got = await old.get({ include: ['documents', 'metadatas', 'embeddings'] })
    const copy = await client.createCollection({
      name: `${NAME}--compact`,
      embeddingFunction: { generate: async () => [] },
      configuration: { hnsw: { space: 'cosine' } },
      metadata: old.metadata!,
    })
    await copy.add({
      ids: got.ids,
      embeddings: got.embeddings as number[][],
      documents: got.documents as string[],
      metadatas: got.metadatas.map((m) => m!),
    })
    await client.deleteCollection({ name: NAME })
    const reopened = await createChromaStore({ url, token, collection: NAME, cipher })
    expect((await reopened.get({})).map((m) => m.text)).toEqual(['survives the crash'])
    // a copy left beside a collection that is still there is stale: the next compact drops it first
    await client.createCollection({ name: `${NAME}--compact`, embeddingFunction: { generate: async () => [] } })
    await reopened.compact()
    expect((await reopened.get({})).map((m) => m.text)).toEqual(['survives the crash'])
  })
})

describe('quiet and self-contained', () => {
  test('creating a store and using it prints nothing (stdout carries --json)', async () => {
    const quiet = (): void => {}
    const spies = [
      jest.spyOn(console, 'log').mockImplementation(quiet),
      jest.spyOn(console, 'warn').mockImplementation(quiet),
      jest.spyOn(console, 'error').mockImplementation(quiet),
      jest.spyOn(console, 'info').mockImplementation(quiet),
      jest.spyOn(console, 'debug').mockImplementation(quiet),
      jest.spyOn(process.stdout, 'write'),
    ]
    try {
      const store = await createChromaStore({ url, token, collection: 'quiet', cipher })
      await store.add([rec('hello')])
      await store.query(vec(), 3)
      await store.get({ all: true })
      await createChromaStore({ url, token, collection: 'quiet', cipher }) // the existing collection
      for (const s of spies) expect(s).not.toHaveBeenCalled()
      // the control: the raw client without an embedding function does warn
      await rawClient(url, token).getOrCreateCollection({ name: 'control' })
      expect(spies[1]).toHaveBeenCalledWith(expect.stringContaining('DefaultEmbeddingFunction'))
    } finally {
      for (const s of spies) s.mockRestore()
    }
  })
})

describe('the server going away', () => {
  test('data survives a restart; a lost server is MEMORY_UNAVAILABLE, or is reconnected when asked', async () => {
    const NAME = 'restart'
    const first = await createChromaStore({ url, token, collection: NAME, cipher })
    const kept = [rec('survives a restart', { session: 'x' }), rec('this too')]
    await first.add(kept)

    await stopChromaServer(home)
    const err = await first.count().catch((e: unknown) => e)
    expect(MiradorError.is(err, 'MEMORY_UNAVAILABLE')).toBe(true)
    expect((err as Error).message).toContain(url)

    let reconnects = 0
    const reconnect = async (): Promise<{ url: string; token?: string }> => {
      reconnects++
      return ensureChromaServer({ home, env: {} })
    }
    const second = await createChromaStore({
      ...(await ensureChromaServer({ home, env: {} })),
      collection: NAME,
      cipher,
      reconnect,
    })
    url = second.url
    expect((await second.get({ session: 'x' })).map((m) => m.text)).toEqual(['survives a restart'])
    expect(await second.count()).toBe(2)

    // stopped behind its back (as an idle stop would): one reconnect, then the call succeeds
    await stopChromaServer(home)
    expect(await second.count()).toBe(2)
    expect(reconnects).toBe(1)
    url = second.url
  })

  test('onUse is called for every operation (the plugin passes touchChromaServer)', async () => {
    let uses = 0
    const store = await createChromaStore({
      url,
      token,
      collection: 'touch',
      cipher,
      onUse: () => {
        uses++
        return touchChromaServer(home)
      },
    })
    await store.add([rec('a')])
    await store.count()
    await store.query(vec(), 1)
    expect(uses).toBe(3)
  })
})

describe('1k records', () => {
  test('add in one call and query latency', async () => {
    const store = await createChromaStore({ url, token, collection: 'bulk', cipher })
    const big = Array.from({ length: 1000 }, (_, i) =>
      rec(`Q: question ${i}\nA: answer ${i} `.repeat(8), { session: `s${i % 10}` }, vec(384)),
    )
    let t0 = performance.now()
    await store.add(big)
    const addMs = performance.now() - t0
    expect(await store.count()).toBe(1000)
    const times: number[] = []
    for (let i = 0; i < 30; i++) {
      const q = vec(384)
      t0 = performance.now()
      const hits = await store.query(q, 10)
      times.push(performance.now() - t0)
      expect(hits).toHaveLength(10)
    }
    times.sort((x, y) => x - y)
    t0 = performance.now()
    const inSession = await store.query(vec(384), 10, { session: 's3' })
    const sessionMs = performance.now() - t0
    expect(inSession.every((h) => h.meta.session === 's3')).toBe(true)
    t0 = performance.now()
    const page = await store.get({ all: true, limit: 20, offset: 500 })
    const pageMs = performance.now() - t0
    expect(page.map((m) => m.id)).toEqual(big.slice(500, 520).map((r) => r.id))
    process.stderr.write(
      `chroma store: add 1000×384-d ${addMs.toFixed(0)} ms; ` +
        `query k=10 median ${times[15]!.toFixed(1)} ms (p90 ${times[27]!.toFixed(1)}); ` +
        `session query ${sessionMs.toFixed(1)} ms; get page of 20 at 500 ${pageMs.toFixed(1)} ms\n`,
    )
  })
})

describe("ChromaStore with sealedText: 'metadata'", () => {
  test('the sealed text goes in metadata, not a document Chroma would index; reads give it back', async () => {
    const store = await createChromaStore({ url, token, collection: 'in-meta', cipher, sealedText: 'metadata' })
    const r = rec('a passage about the Quillfeather button', {}, unit(2))
    await store.add([r])
    const stored = await (await raw('in-meta')).get({ ids: [r.id], include: ['documents', 'metadatas'] })
    expect(stored.documents[0]).toBeNull()
    expect(cipher.open(stored.metadatas[0]!.text_sealed as string)).toBe(r.text)
    expect(JSON.stringify(stored)).not.toMatch(/Quillfeather/)
    expect((await store.get({ ids: [r.id] }))[0]!.text).toBe(r.text)
    expect((await store.query(unit(2), 1))[0]).toMatchObject({ id: r.id, text: r.text })
    // a purge rebuilds the collection: the text stays in metadata, and opens
    await store.compact()
    expect((await (await raw('in-meta')).get({ ids: [r.id], include: ['documents'] })).documents[0]).toBeNull()
    expect((await store.get({ ids: [r.id] }))[0]!.text).toBe(r.text)
    expect(store.unreadable()).toEqual([])
  })
})
