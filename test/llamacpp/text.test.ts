import { describe, expect, test } from '@jest/globals'
import { StopMatcher, TokenDecoder, type Piece } from '../../src/runtimes/llamacpp/text.js'

const texts = (pieces: Piece[]) => pieces.map((p) => p.text)

describe('StopMatcher', () => {
  test('passes pieces through when there are no stop strings', () => {
    const m = new StopMatcher([])
    expect(texts(m.push({ text: 'a' }))).toEqual(['a'])
    expect(m.flush()).toEqual([])
  })

  test('cuts at a stop string inside one piece and drops the rest', () => {
    const m = new StopMatcher(['END'])
    expect(texts(m.push({ text: 'abc' }))).toEqual(['abc'])
    expect(m.push({ text: 'deENDxyz', logprob: -1 })).toEqual([{ text: 'de', logprob: -1 }])
    expect(m.stopped).toBe(true)
    expect(m.push({ text: 'more' })).toEqual([])
    expect(m.flush()).toEqual([])
  })

  test('holds back a possible prefix across pieces and cuts a stop string spanning pieces', () => {
    const m = new StopMatcher(['Lily. She'])
    expect(texts(m.push({ text: ' named' }))).toEqual([' named'])
    expect(texts(m.push({ text: ' Lily' }))).toEqual([]) // 'Lily' may start the stop string: held whole
    expect(texts(m.push({ text: '.' }))).toEqual([])
    expect(texts(m.push({ text: ' She' }))).toEqual([' ']) // the piece the stop string starts in, cut
    expect(m.stopped).toBe(true)
  })

  test('releases held text once it can no longer become a stop string', () => {
    const m = new StopMatcher(['\n\n'])
    expect(texts(m.push({ text: 'end.\n' }))).toEqual([])
    expect(texts(m.push({ text: 'Next' }))).toEqual(['end.\n', 'Next'])
    expect(texts(m.push({ text: ' line\n' }))).toEqual([])
    expect(texts(m.flush())).toEqual([' line\n'])
  })

  test('stops at the earliest of several stop strings and ignores empty ones', () => {
    const m = new StopMatcher(['', 'zz', 'b'])
    expect(texts(m.push({ text: 'abzz' }))).toEqual(['a'])
    expect(m.stopped).toBe(true)
  })
})

describe('TokenDecoder', () => {
  // A fake SentencePiece-like vocabulary: a leading space marks a word start and is dropped at
  // the very start of the text; tokens 100 and 101 are the two UTF-8 bytes of "é".
  const BYTES: Record<number, Buffer> = {
    1: Buffer.from(' Once'),
    2: Buffer.from(' upon'),
    3: Buffer.from(','),
    4: Buffer.from(' caf'),
    100: Buffer.from([0xc3]),
    101: Buffer.from([0xa9]),
  }
  const decode = (tokens: readonly number[]) =>
    Buffer.concat(tokens.map((t) => BYTES[t]!))
      .toString('utf8')
      .replace(/^ /, '')
  const detok = (tokens: readonly number[], last: readonly number[]) =>
    decode([...last, ...tokens]).slice(decode(last).length)

  test('keeps word-start spaces by detokenizing with the preceding tokens', () => {
    const d = new TokenDecoder(detok, [1])
    expect(d.push(2, -0.5)).toEqual({ text: ' upon', logprob: -0.5 })
    expect(d.push(3)).toEqual({ text: ',' })
  })

  test('holds a split UTF-8 character until it is complete and sums its logprobs', () => {
    const d = new TokenDecoder(detok, [1])
    expect(d.push(4, -0.25)).toEqual({ text: ' caf', logprob: -0.25 })
    expect(d.push(100, -1)).toBeUndefined()
    expect(d.push(101, -2)).toEqual({ text: 'é', logprob: -3 })
    expect(d.flush()).toBeUndefined()
  })

  test('flush hands over an incomplete character as it is', () => {
    const d = new TokenDecoder(detok, [1])
    expect(d.push(100)).toBeUndefined()
    expect(d.flush()).toEqual({ text: '\uFFFD' })
  })
})
