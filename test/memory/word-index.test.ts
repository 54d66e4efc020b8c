/**
 * The in-memory index of words (lib/word-index.ts): its scores equal lib/bm25.ts's over the same
 * entries (the whole collection, or one tag's entries), and it stays exact as entries come and go.
 */
import { describe, expect, test } from '@jest/globals'
import { bm25, tokenize } from '../../src/lib/bm25.js'
import { WordIndex } from '../../src/lib/word-index.js'

const DOCS: { id: string; text: string; tag?: string }[] = [
  { id: 'a', text: 'Lunch with Bertrand Lefort at the Vieux Port on 18 November', tag: 's1' },
  { id: 'b', text: 'I booked a train to Lyon for the 18th, window seat', tag: 's1' },
  { id: 'c', text: 'My sister lives in Lyon and hikes every weekend', tag: 's2' },
  { id: 'd', text: 'Paid 1,150 euros at Norauto Caluire for new tyres', tag: 's2' },
  { id: 'e', text: 'The hike above Lyon took four hours; my sister led it', tag: 's1' },
  { id: 'f', text: 'Bertrand said the port café closes in November' },
  { id: 'g', text: 'window seats on trains are my favourite', tag: 's2' },
]

const QUERIES = [
  'Who is Bertrand Lefort?',
  'what did I pay at Norauto Caluire?',
  'Lyon hike with my sister',
  'train window seat for the 18th',
  'November at the port',
  'nothing shared here: dentist',
]

function indexOf(docs: typeof DOCS): WordIndex {
  const index = new WordIndex()
  for (const d of docs) index.add(d.id, d.text, d.tag)
  return index
}

/** bm25() over exactly `docs`, as id → score for the entries scoring > 0, best first */
function reference(query: string, docs: typeof DOCS): { id: string; score: number }[] {
  const { scores } = bm25(
    tokenize(query),
    docs.map((d) => tokenize(d.text)),
  )
  return docs
    .map((d, i) => ({ id: d.id, score: scores[i]! }))
    .filter((x) => x.score > 0)
    .sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1))
}

function expectSame(got: { id: string; score: number }[], want: { id: string; score: number }[]): void {
  expect(got.map((x) => x.id)).toEqual(want.map((x) => x.id))
  got.forEach((x, i) => expect(x.score).toBeCloseTo(want[i]!.score, 10))
}

describe('WordIndex', () => {
  test('scores equal bm25() over the whole collection, best first, only entries sharing a term', () => {
    const index = indexOf(DOCS)
    expect(index.size).toBe(DOCS.length)
    for (const q of QUERIES) expectSame(index.search(q, DOCS.length), reference(q, DOCS))
    expect(index.search('dentist', 5)).toEqual([])
    expect(index.search('Norauto', 5).map((m) => m.id)).toEqual(['d'])
  })

  test('n keeps the best n; ties go by id', () => {
    const index = indexOf(DOCS)
    const q = 'Lyon hike with my sister'
    expectSame(index.search(q, 2), reference(q, DOCS).slice(0, 2))
    const twins = new WordIndex()
    twins.add('z', 'quince jam')
    twins.add('y', 'quince jam')
    expect(twins.search('quince', 1)).toEqual([{ id: 'y', score: expect.any(Number) }])
    expect(index.search(q, 0)).toEqual([])
  })

  test("a tag search scores with that tag's entries only: bm25() over the session's memories", () => {
    const index = indexOf(DOCS)
    for (const tag of ['s1', 's2']) {
      const mine = DOCS.filter((d) => d.tag === tag)
      for (const q of QUERIES) expectSame(index.search(q, DOCS.length, { tag }), reference(q, mine))
    }
    // "f" has no tag: only an unlimited search finds it
    expect(index.search('café', 5).map((m) => m.id)).toEqual(['f'])
    expect(index.search('café', 5, { tag: 's1' })).toEqual([])
    expect(index.search('Lyon', 5, { tag: 'unknown' })).toEqual([])
  })

  test('stays exact after adds, removes and replacements (statistics included)', () => {
    const index = indexOf(DOCS)
    expect(index.remove('d')).toBe(true)
    expect(index.remove('d')).toBe(false)
    index.add('h', 'Another train to Lyon, booked by my sister', 's2')
    index.add('b', 'I cancelled the train; I drive to Lyon instead', 's1') // replaces b
    const now = [...DOCS.filter((d) => d.id !== 'd' && d.id !== 'b')]
    now.push({ id: 'h', text: 'Another train to Lyon, booked by my sister', tag: 's2' })
    now.push({ id: 'b', text: 'I cancelled the train; I drive to Lyon instead', tag: 's1' })
    expect(index.size).toBe(now.length)
    expect(index.has('d')).toBe(false)
    expect([...index.ids()].sort()).toEqual(now.map((d) => d.id).sort())
    for (const q of [...QUERIES, 'cancelled train']) {
      expectSame(index.search(q, 10), reference(q, now))
      for (const tag of ['s1', 's2'])
        expectSame(
          index.search(q, 10, { tag }),
          reference(
            q,
            now.filter((d) => d.tag === tag),
          ),
        )
    }
    expect(index.search('Norauto', 5)).toEqual([])
    // every entry of a tag gone: its searches find nothing; clear empties the rest
    for (const d of now.filter((x) => x.tag === 's2')) index.remove(d.id)
    expect(index.search('Lyon', 5, { tag: 's2' })).toEqual([])
    index.clear()
    expect(index.size).toBe(0)
    expect(index.search('Lyon', 5)).toEqual([])
  })
})
