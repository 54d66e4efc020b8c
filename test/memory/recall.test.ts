/**
 * BM25 on a hand-computed example, the shared tokenizer, and hybrid ranking: each component as
 * documented in recall.ts, how they combine, recency decay, the threshold, and recall()'s use of
 * the store and the embedder; candidates a word source (words.ts) adds, over the bench's in-memory
 * store; the query-adaptive lexical scale of the fused ranking; and the
 * supersede rule for updated facts (supersede.ts), with the real bundled sentence encoder where
 * the vectors matter.
 */
import { beforeAll, describe, expect, test } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { analyze, bm25, stem, tokenize } from '../../src/lib/bm25.js'
import { createHashingEmbedder } from '../../src/lib/embedder.js'
import { createUseEmbedder } from '../../src/lib/use-embedder.js'
import {
  DEFAULT_WEIGHTS,
  HASHING_TUNING,
  MODEL_TUNING,
  isRelevant,
  provenance,
  rankMemories,
  recall,
  tuningFor,
  type Ranked,
} from '../../src/plugins/memory/recall.js'
import {
  MIN_COMPARED,
  promote,
  successors,
  updatesAround,
  type Comparable,
} from '../../src/plugins/memory/supersede.js'
import type { MemoryRecord, MemoryStore, VectorHit } from '../../src/plugins/memory/types.js'
import { StoreWords } from '../../src/plugins/memory/words.js'
import { InMemoryStore } from '../../bench/memory-inmemory.js'

const DAY = 86_400_000
const NOW = Date.UTC(2025, 5, 1)

function hit(id: string, text: string, distance: number, daysAgo = 0, session?: string): VectorHit {
  return {
    id,
    text,
    distance,
    meta: {
      chain: 'c',
      runId: 'r',
      createdAt: NOW - daysAgo * DAY,
      kind: 'turn',
      recalls: 0,
      ...(session && { session }),
    },
  }
}

describe('tokenizer', () => {
  test('lower case, accents and apostrophes dropped, stop words and one-letter words gone, numbers kept', () => {
    expect(tokenize("What's Sam's favourite café? I paid £1,150 for 2.5 nights")).toEqual([
      'sam',
      'favourit',
      'caf',
      'paid',
      '1150',
      '2.5',
      'night',
    ])
    expect(analyze('The Hikes').words).toEqual(['hikes'])
  })

  test('the light stemmer meets common inflections', () => {
    const same = (...ws: string[]) => expect(new Set(ws.map(stem)).size).toBe(1)
    same('hike', 'hikes', 'hiking', 'hiked')
    same('run', 'runs', 'running')
    same('plan', 'plans', 'planned', 'planning')
    same('study', 'studies', 'studied')
    same('box', 'boxes')
    same('tomato', 'tomatoes')
    expect(stem('class')).toBe('class')
    expect(stem('bus')).toBe('bus')
    expect(stem('falling')).toBe('fall')
  })
})

describe('bm25 (k1 1.2, b 0.75), over the given documents only', () => {
  // N = 3; "cat" is in 2 → idf = ln(1 + (3 − 2 + 0.5) / (2 + 0.5)) = ln 1.6; avgdl = 7/3
  const docs = [['cat', 'hat'], ['dog'], ['cat', 'cat', 'dog', 'bird']]

  test('matches the hand-computed values', () => {
    const r = bm25(['cat'], docs)
    expect(r.idf.get('cat')).toBeCloseTo(Math.log(1.6), 10) // 0.470004
    // d1: tf 1, dl 2 → 0.470004 · 2.2 / (1 + 1.2 · (0.25 + 0.75 · 2 / (7/3))) = 0.499176
    expect(r.scores[0]).toBeCloseTo(0.499176, 5)
    expect(r.scores[1]).toBe(0)
    // d3: tf 2, dl 4 → 0.470004 · 4.4 / (2 + 1.2 · (0.25 + 0.75 · 4 / (7/3))) = 0.538145
    expect(r.scores[2]).toBeCloseTo(0.538145, 5)
    expect(r.ideal).toBeCloseTo(Math.log(1.6), 10)
  })

  test('a query term counts once however often the query repeats it; IDF depends on the set', () => {
    expect(bm25(['cat', 'cat'], docs).scores).toEqual(bm25(['cat'], docs).scores)
    // in a set where every document has "cat", its IDF is ln(1 + 0.5 / 3.5)
    expect(bm25(['cat'], [['cat'], ['cat', 'dog'], ['cat']]).idf.get('cat')).toBeCloseTo(Math.log(1 + 0.5 / 3.5), 10)
  })

  test('no documents, no query terms, empty documents → zeros', () => {
    expect(bm25(['cat'], []).scores).toEqual([])
    expect(bm25([], docs)).toMatchObject({ scores: [0, 0, 0], ideal: 0 })
    expect(bm25(['cat'], [[], []]).scores).toEqual([0, 0])
  })
})

describe('rankMemories', () => {
  const cands = [
    hit('a', 'My sister lives in Bristol', 0.2, 400), // nearest, old, no lexical match for "climbing wall"
    hit('b', 'Marcus and I go to the climbing wall on Wednesdays', 0.5, 10), // lexical match, recent
    hit('c', 'Bought a new kettle', 0.8, 0), // farthest, newest
  ]
  const q = 'who do I meet at the climbing wall'

  test('vector: min-max scaled similarity; lexical (best): BM25 / the best BM25; recency: 0.5^(age/half-life)', () => {
    const r = rankMemories(q, cands, {
      now: NOW,
      k: 3,
      weights: { vector: 1, lexical: 1, recency: 1 },
      halfLifeDays: 10,
      lexicalScale: 'best',
    })
    const byId = Object.fromEntries(r.map((x) => [x.id, x])) as Record<string, Ranked>
    expect(byId.a!.components.vector).toBe(1)
    expect(byId.b!.components.vector).toBeCloseTo(0.5, 10)
    expect(byId.c!.components.vector).toBe(0)
    expect(byId.a!.similarity).toBeCloseTo(0.8, 10)
    expect(byId.a!.components.lexical).toBe(0)
    expect(byId.c!.components.lexical).toBe(0)
    const lex = bm25(
      tokenize(q),
      cands.map((c) => tokenize(c.text)),
    )
    expect(byId.b!.bm25).toBeCloseTo(lex.scores[1]!, 10)
    expect(lex.scores[1]).toBeGreaterThan(0)
    expect(byId.b!.components.lexical).toBe(1) // the only, so the best, lexical match
    expect(byId.b!.components.recency).toBeCloseTo(0.5, 10) // 10 days, half-life 10
    expect(byId.c!.components.recency).toBe(1)
    expect(byId.a!.components.recency).toBeCloseTo(Math.pow(0.5, 40), 15)
  })

  test('score = Σ weight · component, with the weights made to sum to 1', () => {
    const r = rankMemories(q, cands, {
      now: NOW,
      k: 3,
      weights: { vector: 2, lexical: 1, recency: 1 },
      halfLifeDays: 30,
    })
    for (const x of r)
      expect(x.score).toBeCloseTo(
        0.5 * x.components.vector + 0.25 * x.components.lexical + 0.25 * x.components.recency,
        12,
      )
    for (let i = 1; i < r.length; i++) expect(r[i - 1]!.score).toBeGreaterThanOrEqual(r[i]!.score)
  })

  test('each weight alone orders by its component', () => {
    const order = (w: object) =>
      rankMemories(q, cands, { now: NOW, k: 3, weights: w, lexicalScale: 'best' }).map((x) => x.id)
    expect(order({ vector: 1 })).toEqual(['a', 'b', 'c'])
    expect(order({ lexical: 1 })[0]).toBe('b')
    expect(order({ recency: 1 })).toEqual(['c', 'b', 'a'])
    // hybrid: the lexical match wins over the nearest vector
    expect(order({ vector: 0.5, lexical: 0.4, recency: 0.1 })[0]).toBe('b')
  })

  test('recency decays by half every half-life; a future date counts as now', () => {
    const mems = [0, 30, 60, 90].map((d) => hit(`d${d}`, 'same text', 0.3, d))
    const r = rankMemories('same text', [...mems, hit('future', 'same text', 0.3, -5)], {
      now: NOW,
      k: 5,
      weights: { recency: 1 },
      halfLifeDays: 30,
    })
    const rec = Object.fromEntries(r.map((x) => [x.id, x.components.recency]))
    expect(rec).toEqual({ future: 1, d0: 1, d30: 0.5, d60: 0.25, d90: 0.125 })
  })

  test('equal similarities all count 1; k limits; no candidates → []', () => {
    const same = [hit('x', 'one', 0.4), hit('y', 'two', 0.4)]
    for (const r of rankMemories('q', same, { now: NOW, k: 2 })) expect(r.components.vector).toBe(1)
    expect(rankMemories(q, cands, { now: NOW, k: 1 })).toHaveLength(1)
    expect(rankMemories(q, [], { now: NOW, k: 5 })).toEqual([])
  })

  test('defaults are MODEL_TUNING; bad weights or half-life → USAGE', () => {
    const a = rankMemories(q, cands, { now: NOW, k: 3 })
    const b = rankMemories(q, cands, {
      now: NOW,
      k: 3,
      weights: MODEL_TUNING.weights,
      halfLifeDays: MODEL_TUNING.halfLifeDays,
    })
    expect(a).toEqual(b)
    const w = MODEL_TUNING.weights
    const sum = w.vector + w.lexical + w.recency
    for (const x of a) {
      const c = x.components
      expect(x.score).toBeCloseTo((w.vector * c.vector + w.lexical * c.lexical + w.recency * c.recency) / sum, 12)
      expect(c.recency).toBeCloseTo(Math.pow(0.5, (NOW - x.meta.createdAt) / DAY / MODEL_TUNING.halfLifeDays), 12)
    }
    expect(DEFAULT_WEIGHTS).toEqual(MODEL_TUNING.weights)
    for (const bad of [{ vector: -1 }, { vector: 0, lexical: 0 }, { lexical: Number.NaN }]) {
      expect(() => rankMemories(q, cands, { now: NOW, k: 3, weights: bad })).toThrow(MiradorError)
    }
    expect(() => rankMemories(q, cands, { now: NOW, k: 3, halfLifeDays: 0 })).toThrow(/halfLifeDays/)
  })

  test('the result keeps the hit (id, text, meta, distance) for provenance', () => {
    const [top] = rankMemories(q, cands, { now: NOW, k: 1, weights: { vector: 1 } })
    expect(top).toMatchObject({ id: 'a', text: cands[0]!.text, distance: 0.2, meta: cands[0]!.meta })
    expect(provenance(top!)).toEqual({
      id: 'a',
      score: 1,
      similarity: 0.8,
      vector: 1,
      lexical: 0,
      recency: expect.any(Number),
    })
  })
})

describe('recall', () => {
  function fakeStore(hits: VectorHit[]) {
    const calls: { embedding: number[]; k: number; filter?: { session?: string } }[] = []
    const store: Pick<MemoryStore, 'query'> = {
      async query(embedding, k, filter) {
        calls.push({ embedding, k, ...(filter && { filter }) })
        return hits.slice(0, k)
      },
    }
    return { store, calls }
  }
  const embedder = { id: 'test/fake', dims: 2, embed: async (texts: string[]) => texts.map(() => [1, 0]) }
  const hits = [
    hit('m1', 'I drink a flat white every morning', 0.1, 100),
    hit('m2', 'Coffee after 2 pm ruins my sleep', 0.3, 5),
    hit('m3', 'My bike is a Brompton', 0.6, 1),
    hit('m4', 'The cat likes salmon', 0.9, 1),
  ]

  test("asks the store for k × overfetch (default: the embedder's preset), the query vector, the session", async () => {
    const { store, calls } = fakeStore(hits)
    await recall({ store, embedder, query: 'coffee', k: 2, now: NOW })
    await recall({ store, embedder: { ...embedder, id: 'hashing-v1/384' }, query: 'coffee', k: 2, now: NOW })
    await recall({ store, embedder, query: 'coffee', k: 1, overfetch: 3, session: 's1', now: NOW })
    expect(calls).toEqual([
      { embedding: [1, 0], k: 2 * MODEL_TUNING.overfetch },
      { embedding: [1, 0], k: 2 * HASHING_TUNING.overfetch },
      { embedding: [1, 0], k: 3, filter: { session: 's1' } },
    ])
  })

  test('returns at most k, best first, ranked over every candidate', async () => {
    const { store } = fakeStore(hits)
    const r = await recall({
      store,
      embedder,
      query: 'does coffee keep me awake',
      k: 2,
      now: NOW,
      weights: { vector: 0.5, lexical: 0.5 },
      lexicalScale: 'best',
    })
    expect(r.map((x) => x.id)).toEqual(['m2', 'm1'])
    expect(r[0]!.components.lexical).toBeGreaterThan(0)
  })

  test('the threshold drops memories below that similarity (1 − distance), then k applies', async () => {
    const { store } = fakeStore(hits)
    const hashing = { ...embedder, id: 'hashing-v1/384' }
    const r = await recall({ store, embedder: hashing, query: 'cat', k: 4, threshold: 0.5, now: NOW })
    expect(r.map((x) => x.id).sort()).toEqual(['m1', 'm2'])
    for (const x of r) expect(x.similarity).toBeGreaterThanOrEqual(0.5)
    expect(await recall({ store, embedder: hashing, query: 'cat', k: 4, threshold: 0.95, now: NOW })).toEqual([])
  })

  test("with a sentence encoder, a memory holding the question's rare words is relevant below it", async () => {
    const { store } = fakeStore(hits)
    // m4 (similarity 0.1) holds "cat"; the hashing preset has no word rule, the model preset does
    const byModel = await recall({ store, embedder, query: 'cat', k: 4, threshold: 0.5, now: NOW })
    expect(byModel.map((x) => x.id).sort()).toEqual(['m1', 'm2', 'm4'])
    const m4 = byModel.find((x) => x.id === 'm4')!
    expect(m4.similarity).toBeLessThan(0.5)
    expect(m4.components.lexical).toBeGreaterThanOrEqual(MODEL_TUNING.lexicalGate!)
    expect(isRelevant(m4, 0.5, HASHING_TUNING)).toBe(false)
    // a word no memory holds: nothing passes on words
    expect(await recall({ store, embedder, query: 'dentist', k: 4, threshold: 0.95, now: NOW })).toEqual([])
  })

  test('default weights follow the embedder: HASHING_TUNING for the hashing one, MODEL_TUNING otherwise', async () => {
    expect(tuningFor(createHashingEmbedder().id)).toBe(HASHING_TUNING)
    expect(tuningFor('ollama/nomic-embed-text')).toBe(MODEL_TUNING)
    expect(tuningFor(undefined)).toBe(MODEL_TUNING)
    // word candidates, when recall has a word source (words.ts): for sentence encoders only
    expect(MODEL_TUNING.wordCandidates).toBeGreaterThan(0)
    expect(HASHING_TUNING.wordCandidates).toBeUndefined()
    const { store } = fakeStore(hits)
    const q = 'coffee sleep'
    const asHashing = await recall({ store, embedder: { ...embedder, id: 'hashing-v1/384' }, query: q, k: 4, now: NOW })
    expect(asHashing).toEqual(rankMemories(q, hits, { now: NOW, k: 4, ...HASHING_TUNING }))
    const asModel = await recall({ store, embedder, query: q, k: 4, now: NOW })
    expect(asModel).toEqual(rankMemories(q, hits, { now: NOW, k: 4, ...MODEL_TUNING }))
  })

  test('bad k or overfetch → USAGE; an empty store → []', async () => {
    const { store } = fakeStore([])
    await expect(recall({ store, embedder, query: 'x', k: 0 })).rejects.toMatchObject({ code: 'USAGE' })
    await expect(recall({ store, embedder, query: 'x', k: 2, overfetch: 0 })).rejects.toMatchObject({ code: 'USAGE' })
    expect(await recall({ store, embedder, query: 'x', k: 2 })).toEqual([])
  })

  test('end to end with the hashing embedder and a tiny brute-force store: the lexical match comes first', async () => {
    const e = createHashingEmbedder()
    const texts = [
      'Dentist appointment on 2 July at 3:20 pm',
      'My sister Priya lives in Bristol',
      'Biscuit the cat eats salmon',
    ]
    const vecs = await e.embed(texts)
    const store: Pick<MemoryStore, 'query'> = {
      async query(v, k) {
        return texts
          .map((t, i) => hit(`m${i}`, t, 1 - vecs[i]!.reduce((s, x, j) => s + x * v[j]!, 0), 3))
          .sort((a, b) => a.distance - b.distance)
          .slice(0, k)
      },
    }
    const [top] = await recall({ store, embedder: e, query: 'when is my dentist appointment?', k: 1, now: NOW })
    expect(top!.id).toBe('m0')
  })
})

describe('recall with a word source (words.ts)', () => {
  // the question's vector is e0; a memory at similarity c is c·e0 + √(1 − c²)·e(i+1): close to the
  // question only, never to each other beyond c·c'
  const DIMS = 64
  const question = [1, ...new Array<number>(DIMS - 1).fill(0)]
  const at = (c: number, i: number) => question.map((_, j) => (j === 0 ? c : j === i + 1 ? Math.sqrt(1 - c * c) : 0))
  const embedder = { id: 'test/fake', dims: DIMS, embed: async (texts: string[]) => texts.map(() => question) }
  // two close memories, then more than k × over-fetch less close ones, none sharing a word with the question
  const sims = [0.9, 0.85, ...Array.from({ length: 45 }, (_, i) => 0.5 - i * 0.005)]
  const named = { id: 'named', text: 'Lunch with Bertrand Lefort at the Vieux Port', sim: 0.1, session: 'work' }

  async function fill(): Promise<InMemoryStore> {
    const store = new InMemoryStore()
    const rec = (id: string, text: string, sim: number, i: number, session?: string): MemoryRecord => ({
      id,
      text,
      embedding: at(sim, i),
      meta: { chain: 'c', runId: 'r', createdAt: NOW - DAY, kind: 'turn', recalls: 0, ...(session && { session }) },
    })
    await store.add([
      ...sims.map((c, i) => rec(`m${i}`, `Errand list ${i}: groceries, laundry, bins`, c, i, 'work')),
      rec(named.id, named.text, named.sim, sims.length, named.session),
    ])
    return store
  }

  test('a memory far by vector that holds the rare words becomes a candidate and ranks', async () => {
    const store = await fill()
    const query = 'Who is Bertrand Lefort?'
    expect(sims.length).toBeGreaterThan(5 * MODEL_TUNING.overfetch)
    expect(MODEL_TUNING.wordCandidates).toBeGreaterThan(0)
    // by vectors alone it is not among the candidates
    expect((await store.query(question, 5 * MODEL_TUNING.overfetch)).map((h) => h.id)).not.toContain(named.id)
    expect((await recall({ store, embedder, query, k: 5, now: NOW })).map((r) => r.id)).not.toContain(named.id)
    // the word source brings it, with its similarity from its stored vector, and words rank it in the first k
    const words = new StoreWords(store)
    const found = await recall({ store, embedder, words, query, k: 5, now: NOW })
    const it = found.find((r) => r.id === named.id)!
    expect(it).toBeDefined()
    // above memories far closer by vector that share no word with the question
    expect(found.indexOf(it)).toBeLessThan(found.findIndex((r) => r.id === 'm2'))
    expect(it.similarity).toBeCloseTo(named.sim, 5)
    expect(it.components.lexical).toBe(1)
    expect(isRelevant(it, MODEL_TUNING.threshold, MODEL_TUNING)).toBe(true)
    // within its session, not another's; wordCandidates 0 turns the source off
    const inWork = await recall({ store, embedder, words, query, k: 5, session: 'work', now: NOW })
    expect(inWork.map((r) => r.id)).toContain(named.id)
    const elsewhere = await recall({ store, embedder, words, query, k: 50, session: 'home', now: NOW })
    expect(elsewhere).toEqual([])
    const off = await recall({ store, embedder, words, wordCandidates: 0, query, k: 5, now: NOW })
    expect(off.map((r) => r.id)).not.toContain(named.id)
    await expect(recall({ store, embedder, words, wordCandidates: -1, query, k: 5 })).rejects.toMatchObject({
      code: 'USAGE',
    })
  })

  test('a word candidate the vectors found too is not added twice', async () => {
    const store = await fill()
    const words = new StoreWords(store)
    const found = await recall({ store, embedder, words, query: 'errand list 3 groceries', k: 100, now: NOW })
    expect(new Set(found.map((r) => r.id)).size).toBe(found.length)
  })
})

describe('fusion: the query-adaptive lexical scale', () => {
  // the nearest by vector shares no word with either question; the named one is farther
  const cands = [
    hit('near', 'We meet the team every week to plan the quarter', 0.2, 30),
    hit('named', 'Bertrand Lefort asked for forty more parking spaces at the new office', 0.55, 30),
    hit('other', 'The office plants need watering on Fridays', 0.6, 30),
    hit('far', 'Pimenta the cat likes salmon', 0.8, 30),
  ]
  const rank = (q: string, lexicalScale: 'query' | 'best') =>
    rankMemories(q, cands, { now: NOW, k: 4, ...MODEL_TUNING, lexicalScale })

  test('query: L = BM25 / Σ IDF of the query terms over the candidates, capped at 1', () => {
    for (const q of ['who is Bertrand Lefort?', 'what did Bertrand want?', 'how are things at the office these days']) {
      const lex = bm25(
        tokenize(q),
        cands.map((c) => tokenize(c.text)),
      )
      expect(lex.ideal).toBeGreaterThan(0)
      for (const r of rank(q, 'query')) {
        expect(r.bm25).toBeCloseTo(lex.scores[cands.findIndex((c) => c.id === r.id)]!, 12)
        expect(r.components.lexical).toBeCloseTo(Math.min(1, r.bm25 / lex.ideal), 12)
      }
    }
  })

  test('a question naming what a memory holds lets words decide; sharing a common word leaves it to vectors', () => {
    const naming = rank('who is Bertrand Lefort?', 'query')
    expect(naming[0]!.id).toBe('named')
    expect(naming[0]!.components.lexical).toBeGreaterThan(0.5)
    // "office" is the only word shared, and two memories hold it: a weak lexical signal
    const paraphrase = rank('how are things at the office these days', 'query')
    expect(paraphrase[0]!.id).toBe('near')
    expect(Math.max(...paraphrase.map((r) => r.components.lexical))).toBeLessThan(0.5)
    // scaled by the best match instead, the same weak match counts in full and wins
    const byBest = rank('how are things at the office these days', 'best')
    expect(byBest.find((r) => r.components.lexical === 1)).toBeDefined()
    expect(byBest[0]!.id).not.toBe('near')
  })
})

describe('supersede: successors and promote', () => {
  const at = (daysAgo: number) => ({ createdAt: NOW - daysAgo * DAY })
  const v = (...xs: number[]) => xs
  // unrelated memories to compare against (a word two memories share means little among a handful)
  const FILLER = [
    'Pimenta the cat likes salmon',
    'The boiler needs a yearly service',
    'Sofia works at CERN as a data engineer',
    'Zoé loses her first tooth',
    'The tax return is due in June',
    'Léo reads comics at night',
    'The bins go out on Tuesdays',
  ]
  const fillers = FILLER.map((text, i) => ({ text, embedding: v(0, 0, 0), meta: at(100 + i) }))

  test('a later memory with a close vector and a word only the two share supersedes the earlier one', () => {
    const items = [
      { text: 'Gym membership at Basic-Fit, 30 euros a month', embedding: v(1, 0, 0), meta: at(300) },
      { text: 'Cancelled Basic-Fit, joined the climbing gym instead', embedding: v(0.95, 0.3, 0), meta: at(20) },
      { text: 'The climbing gym is open late on Tuesdays', embedding: v(0.9, 0.4, 0.1), meta: at(10) },
      { text: 'Left my climbing shoes and gym bag at the office', embedding: v(0.1, 0, 1), meta: at(5) },
    ]
    const linked = (xs: Comparable[]) => successors([...xs, ...fillers], 0.7).slice(0, xs.length)
    // 0 → 1: "basic" and "fit" are theirs alone; 1 → 2: close, but "climb" and "gym" are held by 3
    // too; 3 is later than all and shares "gym" with 0, but its vector is far
    expect(linked(items)).toEqual([[1], [], [], []])
    // not earlier, not later: the same moment supersedes nothing
    expect(linked([items[0]!, { ...items[1]!, meta: items[0]!.meta }])).toEqual([[], []])
    // a memory without its vector takes no part
    expect(linked([items[0]!, { ...items[1]!, embedding: undefined }])).toEqual([[], []])
    // the similarity bar is the rule's
    expect(successors([...items, ...fillers], 0.99).slice(0, 4)).toEqual([[], [], [], []])
    // fewer than MIN_COMPARED memories: nothing is compared
    const few = [...items, ...fillers].slice(0, MIN_COMPARED - 1)
    expect(successors(few, 0.7)).toEqual(few.map(() => []))
    expect(successors([...few, { text: 'one more', embedding: v(0, 0, 0), meta: at(1) }], 0.7)[0]).toEqual([1])
  })

  test('promote puts successors within the margin right above, chains newest first, and says who', () => {
    // ranked best first; 0 is superseded by 2, which is superseded by 3; 1 by 4 (too far below)
    const scores = [0.9, 0.8, 0.7, 0.65, 0.3]
    const next = [[2], [4], [3], [], []]
    const { order, supersededBy } = promote(scores, next, 0.3)
    expect(order).toEqual([3, 2, 0, 1, 4])
    expect([...supersededBy]).toEqual([
      [0, 2],
      [2, 3],
    ])
    // with no margin, only a successor scoring as high moves; a successor already above stays
    expect(promote([0.9, 0.8], [[], [0]], 0).order).toEqual([0, 1])
    expect(promote([0.9, 0.8], [[], [0]], 0).supersededBy.get(1)).toBe(0)
    expect(promote(scores, next, 0).order).toEqual([0, 1, 2, 3, 4])
  })

  test('rankMemories applies the rule when the candidates carry vectors, and provenance tells', () => {
    const old = { ...hit('old', 'Mortgage with Crédit Mutuel fixed at 3.9%', 0.1, 200), embedding: v(1, 0) }
    const renegotiated = {
      ...hit('new', 'Crédit Mutuel cut our mortgage rate to 3.2% from May', 0.3, 20),
      embedding: v(0.9, 0.2),
    }
    const other = { ...hit('x', 'The boiler needs a service', 0.5, 1), embedding: v(0, 1) }
    const rest = FILLER.map((text, i) => ({ ...hit(`f${i}`, text, 0.9, 300), embedding: v(0, 0) }))
    const cands = [old, renegotiated, other, ...rest]
    const q = 'our mortgage with Crédit Mutuel'
    const plain = rankMemories(q, cands, { now: NOW, k: 3, ...MODEL_TUNING, supersede: undefined })
    expect(plain.map((r) => r.id)).toEqual(['old', 'new', 'x'])
    const ruled = rankMemories(q, cands, { now: NOW, k: 3, ...MODEL_TUNING })
    expect(ruled.map((r) => r.id)).toEqual(['new', 'old', 'x'])
    expect(ruled[1]!.supersededBy).toBe('new')
    expect(provenance(ruled[1]!).supersededBy).toBe('new')
    expect('supersededBy' in provenance(ruled[0]!)).toBe(false)
    // the scores are the fused ones, unchanged: the order says the rest
    expect(ruled.find((r) => r.id === 'old')!.score).toBe(plain[0]!.score)
    // results carry no vectors
    for (const r of ruled) expect('embedding' in r).toBe(false)
    // without vectors, nothing is compared
    const bare = cands.map(({ embedding: _e, ...h }) => h)
    expect(rankMemories(q, bare, { now: NOW, k: 3, ...MODEL_TUNING }).map((r) => r.id)).toEqual(['old', 'new', 'x'])
    // nor among fewer than MIN_COMPARED candidates
    expect(rankMemories(q, cands.slice(0, 3), { now: NOW, k: 3, ...MODEL_TUNING }).map((r) => r.id)).toEqual([
      'old',
      'new',
      'x',
    ])
  })
})

describe('supersede with the bundled sentence encoder', () => {
  const use = createUseEmbedder()
  const texts = {
    april: 'Our Lisbon trip is booked for 10 to 14 April, flying easyJet from Lyon.',
    may: 'Change of plan: the Lisbon trip moved to 22 to 26 May, still flying easyJet from Lyon.',
    kyoto: 'We booked a trip to Kyoto for October, flying Finnair from Lyon.',
    dentist: 'Booked the dentist for Monday 3 March at 8:30.',
    boiler: 'The boiler keeps losing pressure; top it up with the loop under the sink.',
    sofia: 'Sofia works at CERN as a data engineer.',
    bins: 'Recycling goes out every other Tuesday.',
    rent: 'Rent for the flat is 1,150 a month, paid on the first.',
    cat: 'Pimenta the cat is a grey rescue who scratches the sofa.',
    teacher: "Zoé's new teacher is Monsieur Dubois.",
  }
  const ages = {
    april: 60,
    may: 10,
    kyoto: 5,
    dentist: 40,
    boiler: 3,
    sofia: 90,
    bins: 7,
    rent: 30,
    cat: 200,
    teacher: 2,
  }
  let mems: (VectorHit & { embedding: number[] })[]

  beforeAll(async () => {
    const vectors = await use.embed(Object.values(texts))
    mems = Object.keys(texts).map((id, i) => ({
      ...hit(id, texts[id as keyof typeof texts], 0, ages[id as keyof typeof ages]),
      embedding: vectors[i]!,
    }))
  })
  const cos = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0)
  const byId = (id: string) => mems.find((m) => m.id === id)!
  const rule = MODEL_TUNING.supersede!

  test('the moved trip supersedes the booking; a trip elsewhere, as close, shares no word of its own with it', () => {
    // precondition: the Kyoto booking is as close as the update by vector; only the shared word tells them apart
    expect(cos(byId('april').embedding, byId('may').embedding)).toBeGreaterThanOrEqual(rule.similarity)
    expect(cos(byId('april').embedding, byId('kyoto').embedding)).toBeGreaterThanOrEqual(rule.similarity)
    const next = successors(mems, rule.similarity)
    const named = next.map((js, i) => [mems[i]!.id, js.map((j) => mems[j]!.id)])
    expect(named).toEqual([
      ['april', ['may']],
      ['may', []],
      ['kyoto', []],
      ['dentist', []],
      ['boiler', []],
      ['sofia', []],
      ['bins', []],
      ['rent', []],
      ['cat', []],
      ['teacher', []],
    ])
    const around = updatesAround(byId('april'), mems, rule.similarity)
    expect(around.supersededBy.map((m) => m.id)).toEqual(['may'])
    expect(around.supersedes).toEqual([])
    expect(updatesAround(byId('may'), mems, rule.similarity).supersedes.map((m) => m.id)).toEqual(['april'])
  })

  test('recall puts the update first when the old booking matches the question better', async () => {
    const store: Pick<MemoryStore, 'query'> = {
      async query(q, k) {
        return mems
          .map((m) => ({ ...m, distance: 1 - cos(m.embedding, q) }))
          .sort((a, b) => a.distance - b.distance)
          .slice(0, k)
      },
    }
    const query = 'When is our Lisbon trip?'
    const without = await recall({ store, embedder: use, query, k: 3, now: NOW, supersede: false })
    // precondition: by words, vectors and recency alone, the superseded booking comes first
    expect(without[0]!.id).toBe('april')
    const got = await recall({ store, embedder: use, query, k: 3, now: NOW })
    expect(got.slice(0, 2).map((r) => r.id)).toEqual(['may', 'april'])
    expect(got[1]!.supersededBy).toBe('may')
  })
})
