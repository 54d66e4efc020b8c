/**
 * A chain file's `name:` key, read from its text without a YAML parser: finding a chain by name
 * happens before `chain run` prints its acknowledgment, and the yaml package alone costs about
 * 30 ms to load. The key is read where chain files put it, on a top-level line of a block mapping
 * (`name: x`, `name: "x"`, `name: 'x'`, with an optional comment); a document written in flow
 * style (`{ name: x, … }`) is named after its file here. A value that is not a valid chain name
 * is ignored too: the schema reports it.
 */
/** a top-level `name` key (block mappings start their keys in column 1) */
const NAME_KEY = /^name[ \t]*:(?=[ \t]|$)/
/** what follows the key: the value, bare or quoted, and an optional comment */
const NAME_VALUE = /^([ \t]+)(?:"([^"]*)"|'([^']*)'|([^\s#'"]\S*))([ \t]+#.*|[ \t]*)$/
/** schemas/chain.schema.json's pattern for `name` */
export const CHAIN_NAME = /^[a-z][a-z0-9_-]{0,63}$/

export interface NameKey {
  name: string
  /** 1-based, of the `name` key */
  line: number
  column: number
}

interface Found {
  key: NameKey
  lines: string[]
  /** the line's text up to the value, and from the end of the value */
  head: string
  tail: string
  quote: string
}

/** words YAML would read as something other than a string, were they written bare */
const RESERVED = /^(null|true|false|yes|no|on|off|y|n)$/

function find(text: string): Found | undefined {
  const lines = text.split('\n')
  const i = lines.findIndex((l, n) => NAME_KEY.test(n === 0 ? l.replace(/^\uFEFF/, '') : l))
  if (i < 0) return undefined
  const line = lines[i]!.replace(/\r$/, '')
  const key = NAME_KEY.exec(line.replace(/^\uFEFF/, ''))![0]
  const offset = line.indexOf(key) + key.length
  const m = NAME_VALUE.exec(line.slice(offset))
  const name = m ? (m[2] ?? m[3] ?? m[4] ?? '') : ''
  if (!m || !CHAIN_NAME.test(name) || (m[4] !== undefined && RESERVED.test(name))) return undefined
  return {
    key: { name, line: i + 1, column: 1 },
    lines,
    head: line.slice(0, offset) + m[1],
    tail: m[5]! + (lines[i]!.endsWith('\r') ? '\r' : ''),
    quote: m[2] !== undefined ? '"' : m[3] !== undefined ? "'" : '',
  }
}

export function readNameKey(text: string): NameKey | undefined {
  return find(text)?.key
}

/** The text with its `name:` value replaced (comments and layout kept); undefined when it has none. */
export function replaceNameKey(text: string, name: string): string | undefined {
  const f = find(text)
  if (!f) return undefined
  const q = f.quote || (RESERVED.test(name) ? '"' : '')
  f.lines[f.key.line - 1] = `${f.head}${q}${name}${q}${f.tail}`
  return f.lines.join('\n')
}
