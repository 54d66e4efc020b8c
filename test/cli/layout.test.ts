import { describe, expect, it } from '@jest/globals'
import { columnWidth, displayWidth, fit, sideBySide, truncate, wrapWords } from '../../src/cli/render/layout.js'

describe('live region layout', () => {
  it('measures terminal columns: colour takes none, wide characters two, combining marks none', () => {
    expect(displayWidth('plain')).toBe(5)
    expect(displayWidth('\x1b[1mbold\x1b[22m')).toBe(4)
    expect(displayWidth('日本語')).toBe(6)
    expect(displayWidth('e\u0301')).toBe(1)
    expect(displayWidth('🙂!')).toBe(3)
  })

  it('wraps at spaces, never inside a word that fits on a line', () => {
    expect(wrapWords('the quick brown fox jumps over the lazy dog', 10)).toEqual([
      'the quick',
      'brown fox',
      'jumps over',
      'the lazy',
      'dog',
    ])
    for (const line of wrapWords('internationalisation is a longish word among short ones', 20))
      expect(line.length).toBeLessThanOrEqual(20)
    expect(wrapWords('internationalisation is a longish word', 20)).toEqual([
      'internationalisation',
      'is a longish word',
    ])
  })

  it('breaks a word only when it is wider than the line, and starts it on a line of its own', () => {
    expect(wrapWords('see https://example.com/a/very/long/path now', 12)).toEqual([
      'see',
      'https://exam',
      'ple.com/a/ve',
      'ry/long/path',
      'now',
    ])
    expect(wrapWords('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij'])
  })

  it('keeps newlines, blank lines and leading indentation; drops the spaces where it breaks', () => {
    expect(wrapWords('Steps:\n\n  - one two three\nend', 10)).toEqual(['Steps:', '', '  - one', 'two three', 'end'])
    expect(wrapWords('a    b', 3)).toEqual(['a', 'b'])
    expect(wrapWords('', 5)).toEqual([''])
  })

  it('wraps wide characters by their width', () => {
    expect(wrapWords('日本語 日本語', 7)).toEqual(['日本語', '日本語'])
    expect(wrapWords('日本語日本語', 7)).toEqual(['日本語', '日本語'])
  })

  it('truncates with an ellipsis to the width, and resets colour it cut short', () => {
    expect(truncate('short', 10)).toBe('short')
    expect(truncate('a longer line', 8)).toBe('a longe…')
    expect(displayWidth(truncate('a longer line', 8))).toBe(8)
    const cut = truncate('\x1b[2mdim text that goes on\x1b[22m', 6)
    expect(cut).toBe('\x1b[2mdim t…\x1b[0m')
    expect(displayWidth(cut)).toBe(6)
    expect(fit('ab', 5)).toBe('ab   ')
    expect(fit('日本語', 5)).toBe('日本…')
  })

  it('puts blocks side by side in equal columns, top-aligned, the shorter padded', () => {
    expect(columnWidth(23, 2, 3)).toBe(10)
    const lines = sideBySide(
      [
        ['quick', 'one two', 'three'],
        ['deep', 'a rather long line'],
      ],
      23,
      ' | ',
    )
    expect(lines).toEqual(['quick      | deep', 'one two    | a rather…', 'three      |'])
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(23)
  })
})
