/**
 * A minimal terminal screen for renderer tests: it applies what the live renderer writes (text,
 * newlines as CR LF, `\r`, cursor up `ESC[nA`, erase below `ESC[0J`, erase line `ESC[2K`; colours
 * are dropped) so a test can read what stays on screen, not the bytes that were written. Both
 * stdout and stderr write to one screen, as in a terminal. Lines do not wrap: the renderer fits
 * its lines to the width itself, and `widest` lets a test check it did.
 */
export class Screen {
  lines: string[] = ['']
  row = 0
  col = 0
  /** the widest line ever drawn, in characters */
  widest = 0

  write = (s: string): boolean => {
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!
      if (c === '\x1b') {
        // eslint-disable-next-line no-control-regex -- reading escape sequences is the point
        const m = /^\x1b\[(\d*)([A-Za-z])/.exec(s.slice(i))
        if (!m) throw new Error(`unexpected escape sequence at ${JSON.stringify(s.slice(i, i + 8))}`)
        i += m[0].length - 1
        const n = m[1] ? Number(m[1]) : 0
        if (m[2] === 'A') this.row = Math.max(0, this.row - Math.max(1, n))
        else if (m[2] === 'J' && n === 0) {
          this.lines[this.row] = (this.lines[this.row] ?? '').slice(0, this.col)
          this.lines.length = this.row + 1
        } else if (m[2] === 'K' && n === 2) this.lines[this.row] = ''
        else if (m[2] !== 'm') throw new Error(`unexpected escape sequence ${JSON.stringify(m[0])}`)
      } else if (c === '\r') this.col = 0
      else if (c === '\n') {
        this.row++
        this.col = 0
        while (this.lines.length <= this.row) this.lines.push('')
      } else {
        const line = (this.lines[this.row] ?? '').padEnd(this.col)
        this.lines[this.row] = line.slice(0, this.col) + c + line.slice(this.col + 1)
        this.col++
        this.widest = Math.max(this.widest, [...this.lines[this.row]!].length)
      }
    }
    return true
  }

  /** what the screen shows, trailing blanks trimmed */
  text(): string {
    return this.lines
      .map((l) => l.trimEnd())
      .join('\n')
      .trimEnd()
  }
}
