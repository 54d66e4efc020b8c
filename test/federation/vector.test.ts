/**
 * The counts vector: what of the learner's journal a member shares (per vocabulary pair, positive
 * and negative ratings) and what it ignores.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from '@jest/globals'
import { Journal } from '../../src/plugins/learner/journal.js'
import { countsVector, type LearnerRecord } from '../../src/plugins/federation/vector.js'
import { makeVocabulary, slotLabels, slotOf, vectorLength } from '../../src/plugins/federation/vocabulary.js'

const vocab = makeVocabulary(['code', 'chat'], ['quick-deep', 'solo'])

const rating = (runId: string, chain: string, type: string, r: number, at: number): LearnerRecord => ({
  kind: 'rating',
  runId,
  chain,
  type,
  rating: r,
  at,
})

describe('vocabulary', () => {
  it('lays out [positive, negative] per (type, chain), type-major', () => {
    expect(vectorLength(vocab)).toBe(8)
    expect(slotOf(vocab, 'code', 'solo')).toBe(2)
    expect(slotOf(vocab, 'chat', 'quick-deep')).toBe(4)
    expect(slotOf(vocab, 'math', 'solo')).toBe(-1)
    expect(slotLabels(vocab)[5]).toBe('chat/quick-deep/negative')
  })

  it('refuses a repeated or empty name', () => {
    expect(() => makeVocabulary(['code', 'code'], ['a'])).toThrow(/twice/)
    expect(() => makeVocabulary(['code'], [])).toThrow(/no chain/)
  })
})

describe('countsVector', () => {
  it('counts the last rating of each run that no undo names, and only vocabulary pairs', () => {
    const records: LearnerRecord[] = [
      { kind: 'run', runId: 'r1', at: 1 }, // run lines (sealed on disk) are never read
      rating('r1', 'quick-deep', 'code', 5, 2),
      rating('r2', 'quick-deep', 'code', 2, 3),
      rating('r2', 'quick-deep', 'code', 4, 4), // rated again: replaces the 2
      rating('r3', 'solo', 'chat', 1, 5),
      rating('r4', 'solo', 'chat', 5, 6),
      { kind: 'undo', runId: 'r4', ratingAt: 6, at: 7 },
      rating('r5', 'secret-chain', 'code', 5, 8), // not in the vocabulary
      rating('r6', 'solo', 'my-private-type', 5, 9),
      { kind: 'set', chain: 'solo', type: 'chat', at: 10 },
    ]
    expect(countsVector(records, vocab)).toEqual([2, 0, 0, 0, 0, 0, 0, 1])
  })

  it('is all zeros with no ratings, and always the vocabulary length', () => {
    expect(countsVector([], vocab)).toEqual(new Array(8).fill(0))
  })

  it('reads the learner journal as it is (its entries fit LearnerRecord), without opening run lines', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mirador-fedvec-'))
    try {
      const journal = new Journal(home)
      await journal.append({ kind: 'rating', runId: 'r1', chain: 'solo', type: 'code', rating: 5, at: 1 })
      await journal.append({ kind: 'rating', runId: 'r2', chain: 'solo', type: 'code', rating: 1, at: 2 })
      // runs: false leaves the sealed run lines closed (no memory key is loaded)
      const entries = await journal.read({ runs: false })
      expect(countsVector(entries, vocab)).toEqual([0, 0, 1, 1, 0, 0, 0, 0])
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})
