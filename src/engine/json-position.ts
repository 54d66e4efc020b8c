/**
 * Where a text stops being JSON. Node's JSON.parse names no position for most errors (Node 20:
 * "Unexpected token 'o', "…" is not valid JSON", quoting the text), so a failed parse is scanned
 * again by this small recogniser (RFC 8259) to give a stage's STAGE_FORMAT error its line and
 * column. It only runs after JSON.parse failed, so it need not be fast.
 */

export interface JsonSyntaxError {
  /** character offset of the first character that cannot continue the JSON */
  offset: number
  /** what is wrong there, one line */
  message: string
}

class Stop {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** The first syntax error of a text, or undefined when it is one JSON value. */
export function jsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++
  }
  const fail = (expected: string): never => {
    throw new Stop(
      i,
      i >= text.length
        ? `the answer ends where ${expected} should follow`
        : `${JSON.stringify(text[i])} where ${expected} should be`,
    )
  }
  const literal = (word: string) => {
    for (const c of word) {
      if (text[i] !== c) fail(`"${word}"`)
      i++
    }
  }
  const string = () => {
    i++ // the opening quote
    for (;;) {
      const c = text[i]
      if (c === undefined) fail('a closing "')
      if (c === '"') break
      if (c! < ' ') fail('an escaped control character')
      if (c === '\\') {
        i++
        if (text[i] === 'u') {
          i++
          for (let k = 0; k < 4; k++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? '')) fail('a hex digit')
          continue
        }
        if (!'"\\/bfnrt'.includes(text[i] ?? '\u0000')) fail('an escape (\\n, \\", …)')
      }
      i++
    }
    i++
  }
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i))
    if (!m) fail('a number')
    i += m![0].length
  }
  const value = (depth: number): void => {
    if (depth > 512) fail('less nesting')
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      ws()
      if (text[i] === '}') return void i++
      for (;;) {
        ws()
        if (text[i] !== '"') fail('a property name in double quotes')
        string()
        ws()
        if (text[i] !== ':') fail('":"')
        i++
        value(depth + 1)
        ws()
        if (text[i] === '}') return void i++
        if (text[i] !== ',') fail('"," or "}"')
        i++
      }
    }
    if (c === '[') {
      i++
      ws()
      if (text[i] === ']') return void i++
      for (;;) {
        value(depth + 1)
        ws()
        if (text[i] === ']') return void i++
        if (text[i] !== ',') fail('"," or "]"')
        i++
      }
    }
    if (c === '"') return string()
    if (c === 't') return literal('true')
    if (c === 'f') return literal('false')
    if (c === 'n') return literal('null')
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return number()
    fail('a JSON value')
  }
  try {
    value(0)
    ws()
    if (i < text.length) fail('the end of the answer')
    return undefined
  } catch (e) {
    if (e instanceof Stop) return { offset: e.offset, message: e.message }
    throw e
  }
}
