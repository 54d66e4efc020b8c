/**
 * How things read in Mirador's schema error messages: a path (`stages.deep.options.stop[0]`), a
 * value (`"hot"`, `a list`), a JSON type (`a whole number`), a near-miss (`Did you mean "model"?`).
 * Kept apart from the ajv error handling so that the wording is in one place and has no ajv in it.
 */
import type { PathSegment } from './locate.js'
import type { Schema } from './types.js'

/** `stages.deep.options.stop[0]`; keys that are not identifiers are quoted. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = ''
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg
    else out += `[${JSON.stringify(seg)}]`
  }
  return out
}

function truncate(s: string, n = 60): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s
}

/** How a value reads in a message: `"hot"`, `5`, `true`, `a list`, `a map`, `nothing`. */
export function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'an empty value'
  if (typeof v === 'string') return JSON.stringify(truncate(v))
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (Array.isArray(v)) return 'a list'
  if (v instanceof Uint8Array) return 'binary data'
  return 'a map'
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  integer: 'a whole number',
  boolean: 'true or false',
  object: 'a map (key: value lines)',
  array: 'a list',
  null: 'empty',
}

/** A JSON type, or a list of them, in words: `a whole number or text`. */
export function typeWords(t: unknown): string {
  const types = Array.isArray(t) ? t : [t]
  return types.map((x) => TYPE_WORDS[String(x)] ?? String(x)).join(' or ')
}

/** Edit distance where swapping two neighbouring letters counts as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1)
      d[i]![j] = v
    }
  }
  return d[a.length]![b.length]!
}

/** The closest candidate, if it is close enough to be a typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestD = Infinity
  const max = Math.max(1, Math.floor(word.length / 3))
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestD && d <= max) {
      best = c
      bestD = d
    }
  }
  return best
}

/** ` Did you mean "x"?`, with its leading space, when `word` looks like a typo of a candidate; else ''. */
export function didYouMeanText(word: string, candidates: readonly string[]): string {
  const guess = didYouMean(word, candidates)
  return guess === undefined ? '' : ` Did you mean "${guess}"?`
}

/** The last key name on a path (list indexes skipped): what a message calls the value. */
export function lastKey(path: readonly PathSegment[]): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const s = path[i]
    if (typeof s === 'string') return s
  }
  return 'value'
}

/** A schema's `x-hint`, if it has one. */
export function hintOf(schema: unknown): string | undefined {
  if (schema && typeof schema === 'object') {
    const h = (schema as Schema)['x-hint']
    if (typeof h === 'string') return h
  }
  return undefined
}

/** The text with a full stop at the end, unless it already ends a sentence. */
export function sentence(s: string): string {
  const t = s.trim()
  return /[.!?]$/.test(t) ? t : `${t}.`
}

/** A description's first word in lower case, to go in the middle of a sentence. */
export function lcFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s
}

/** `stages.deep.options.temperature: `, the start of a message about that path (empty at the top). */
export function prefix(path: readonly PathSegment[]): string {
  const p = formatPath(path)
  return p ? `${p}: ` : ''
}
