/**
 * Character offset → 1-based line and column. The parser runs without `locations` (it costs a
 * position object on every node of a multi-megabyte file); only the few nodes that become
 * findings are placed, by binary search over the line starts. Line breaks are ECMAScript's:
 * \n, \r\n, \r, U+2028, U+2029, as acorn counts them.
 */
const LINE_BREAK = /\r\n?|\n|\u2028|\u2029/g

export type Locator = (offset: number) => { line: number; column: number }

export function locator(text: string): Locator {
  let starts: number[] | undefined
  return (offset) => {
    if (!starts) {
      starts = [0]
      for (const m of text.matchAll(LINE_BREAK)) starts.push(m.index + m[0].length)
    }
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid]! <= offset) lo = mid
      else hi = mid - 1
    }
    return { line: lo + 1, column: offset - starts[lo]! + 1 }
  }
}
