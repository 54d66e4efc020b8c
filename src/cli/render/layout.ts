/**
 * Laying out the live region: pure functions, lines in, lines out. Widths are terminal columns,
 * not string lengths: SGR colour sequences take none, East Asian wide characters and emoji take
 * two, combining marks none. A line wider than the terminal would wrap, and the region could then
 * no longer be erased by moving the cursor up one row per line, so every line drawn is fitted.
 * The text given here has already been through `safeText`: no other escape sequence is left.
 */

// eslint-disable-next-line no-control-regex -- finding colour sequences is the point
const SGR = /\x1b\[[0-9;]*m/y

/** Columns a code point takes in a terminal (after wcwidth, for the ranges models produce). */
export function charWidth(cp: number): number {
  if (cp < 0x300) return 1
  // combining marks and zero-width joiners/selectors
  if (
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x1dc0 && cp <= 0x1dff) ||
    (cp >= 0x20d0 && cp <= 0x20ff) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0xfe20 && cp <= 0xfe2f) ||
    cp === 0x200b ||
    cp === 0x200d
  )
    return 0
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x1fa70 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  )
    return 2
  return 1
}

/** Walks a line: SGR sequences (zero columns) and characters with their widths. */
function* cells(line: string): Generator<{ text: string; width: number }> {
  let i = 0
  while (i < line.length) {
    SGR.lastIndex = i
    const m = SGR.exec(line)
    if (m) {
      yield { text: m[0], width: 0 }
      i += m[0].length
      continue
    }
    const cp = line.codePointAt(i)!
    const text = String.fromCodePoint(cp)
    yield { text, width: charWidth(cp) }
    i += text.length
  }
}

export function displayWidth(line: string): number {
  let w = 0
  for (const c of cells(line)) w += c.width
  return w
}

/**
 * Cuts a line to `width` columns, ending it with `…` when something was cut. Colour sequences are
 * kept, and a reset is added after a cut so a colour cut short does not run into what follows.
 */
export function truncate(line: string, width: number): string {
  if (displayWidth(line) <= width) return line
  let out = ''
  let w = 0
  let coloured = false
  for (const c of cells(line)) {
    if (c.width === 0) {
      if (c.text.startsWith('\x1b')) coloured = true
      out += c.text
      continue
    }
    if (w + c.width > width - 1) break
    out += c.text
    w += c.width
  }
  return `${out.replace(/ +$/, '')}${width > 0 ? '…' : ''}${coloured ? '\x1b[0m' : ''}`
}

/** A line cut or padded with spaces to exactly `width` columns. */
export function fit(line: string, width: number): string {
  const cut = truncate(line, width)
  return cut + ' '.repeat(Math.max(0, width - displayWidth(cut)))
}

/** Splits a word too wide for a line into pieces of at most `width` columns. */
function breakWord(word: string, width: number): string[] {
  const pieces: string[] = []
  let piece = ''
  let w = 0
  for (const c of cells(word)) {
    if (w + c.width > width && piece) {
      pieces.push(piece)
      piece = ''
      w = 0
    }
    piece += c.text
    w += c.width
  }
  if (piece) pieces.push(piece)
  return pieces
}

/**
 * Wraps text to `width` columns at spaces; a word is broken only when it is wider than a whole
 * line. Newlines in the text start new lines (an empty line stays); a paragraph's leading
 * indentation is kept; the spaces where a line is broken are dropped.
 */
export function wrapWords(text: string, width: number): string[] {
  const w = Math.max(1, width)
  const out: string[] = []
  for (const paragraph of text.split('\n')) {
    let line = ''
    let lineWidth = 0
    let spaces = ''
    for (const token of paragraph.match(/ +|[^ ]+/g) ?? []) {
      if (token.startsWith(' ')) {
        spaces += token
        continue
      }
      const sw = displayWidth(spaces)
      const tw = displayWidth(token)
      if (lineWidth + sw + tw <= w) {
        line += spaces + token
        lineWidth += sw + tw
      } else {
        if (line) out.push(line)
        // a word wider than a line starts on its own and is broken into whole lines
        const pieces = tw <= w ? [token] : breakWord(token, w)
        line = pieces.pop()!
        out.push(...pieces)
        lineWidth = displayWidth(line)
      }
      spaces = ''
    }
    out.push(line)
  }
  return out
}

/** Width of each of `n` columns side by side in `width` columns, `gap` columns apart. */
export function columnWidth(width: number, n: number, gap: number): number {
  return n <= 0 ? width : Math.floor((width - gap * (n - 1)) / n)
}

/**
 * Puts blocks of lines side by side: each block is a column `columnWidth` wide, top-aligned,
 * the shorter ones padded with blank lines; columns are joined by `gap`.
 */
export function sideBySide(blocks: string[][], width: number, gap: string): string[] {
  const w = columnWidth(width, blocks.length, displayWidth(gap))
  const rows = Math.max(0, ...blocks.map((b) => b.length))
  const out: string[] = []
  for (let i = 0; i < rows; i++)
    out.push(
      blocks
        .map((b) => fit(b[i] ?? '', w))
        .join(gap)
        .trimEnd(),
    )
  return out
}
