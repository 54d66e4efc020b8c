/**
 * Safe YAML reading for Mirador files, with the yaml Document API (comments and layout survive
 * for files the program rewrites).
 *
 * What is refused, and why (each has a fixture in test/fixtures/config/bad/):
 * - files over LIMITS.maxBytes (checked with stat by the caller, and again here on the text)
 *   → CONFIG_TOO_LARGE;
 * - text that is not UTF-8 or holds control characters (binary data) → CONFIG_SYNTAX;
 * - nesting deeper than LIMITS.maxDepth: measured on yaml's CST (built without recursion) before
 *   the Document is composed, because yaml's composer recurses and a `[[[[…` bomb exhausts the
 *   stack or memory → CONFIG_UNSAFE;
 * - more than LIMITS.maxAliases alias nodes, an alias inside the node it refers to, or an alias
 *   expansion over LIMITS.maxAliasExpansion (billion laughs) → CONFIG_UNSAFE;
 * - explicit tags: only the YAML 1.2 core tags !!str !!int !!float !!bool !!null !!map !!seq are
 *   accepted (they only say which plain type a value has); everything else (`!!binary`,
 *   `!!js/function`, `!!python/object`, `!custom`, `!`, `!<…>`) → CONFIG_UNSAFE;
 * - `%YAML` directives other than 1.2, and `%TAG` directives (they could rename `!!`) → CONFIG_UNSAFE;
 * - more than one document in a file → CONFIG_UNSAFE;
 * - keys that are maps or lists (`? [a, b]`) → CONFIG_UNSAFE; the key `__proto__` anywhere →
 *   CONFIG_UNSAFE (yaml never pollutes Object.prototype; this is belt and braces);
 * - integers written with a leading zero (`0755`): YAML 1.1 reads them as octal, YAML 1.2 as
 *   decimal, so they are refused rather than silently converted → CONFIG_UNSAFE;
 * - duplicate keys → CONFIG_SYNTAX naming the line of the first one; yaml's own syntax errors
 *   (tabs as indentation, unclosed quotes…) → CONFIG_SYNTAX with yaml's position.
 *
 * Documents are read as YAML 1.2 with the core schema and no merge keys: `yes`/`no`/`on`/`off`
 * are strings, `1:20` is a string, and `<<` is an ordinary key (rejected later as unknown).
 *
 * Positions of yaml's own errors come from our LineCounter rather than `prettyErrors`, which would
 * append a multi-line code frame to the message: MiradorError.format() prints `file:line:col:`.
 */
import {
  Composer,
  LineCounter,
  Parser,
  isAlias,
  isMap,
  isScalar,
  visit,
  type CST,
  type Document,
  type Node,
  type YAMLError,
} from 'yaml'
import { MiradorError, type ErrorCode } from '../errors.js'
import { LIMITS } from './limits.js'
import { keyText, offsetToLocation } from './locate.js'
import type { SourceLocation } from './types.js'

/** Explicit tags accepted; they only pick a core type. */
export const ALLOWED_TAGS: readonly string[] = Object.freeze(['!!str', '!!int', '!!float', '!!bool', '!!null', '!!map', '!!seq'])

const YAML_OPTIONS = {
  version: '1.2',
  schema: 'core',
  merge: false,
  stringKeys: true,
  uniqueKeys: false, // checked below, to name the line of the first occurrence
  resolveKnownTags: false,
  prettyErrors: false, // positions come from our LineCounter
  strict: true,
  logLevel: 'silent',
} as const

export interface SafeParse {
  /** present when the text could be composed (even if `errors` is not empty) */
  doc?: Document.Parsed
  lineCounter: LineCounter
  /** the plain value, present only when there are no errors */
  value?: unknown
  errors: MiradorError[]
}

const CONTROL_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x84\x86-\x9F\uFFFE\uFFFF]|\p{Cs}/u
const LEADING_ZERO_INT = /^[-+]?0[0-9_]+$/
const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection'])

function err(
  code: ErrorCode,
  message: string,
  location: SourceLocation,
  details?: Record<string, unknown>,
): MiradorError {
  return new MiradorError(code, message, { location, ...(details ? { details } : {}) })
}

/** line/column of a character offset without a LineCounter (used before parsing). */
function scanLocation(file: string, text: string, offset: number): SourceLocation {
  let line = 1
  let lineStart = 0
  for (let i = 0; i < offset; i++) {
    if (text.charCodeAt(i) === 10) {
      line++
      lineStart = i + 1
    }
  }
  return { file, line, column: offset - lineStart + 1 }
}

/** Offset of the first byte that is not valid UTF-8, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0
  while (i < b.length) {
    const c = b[i]!
    if (c < 0x80) {
      i++
      continue
    }
    let n: number
    let lo = 0x80
    let hi = 0xbf
    if (c >= 0xc2 && c <= 0xdf) n = 1
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2
      if (c === 0xe0) lo = 0xa0 // overlong
      if (c === 0xed) hi = 0x9f // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3
      if (c === 0xf0) lo = 0x90
      if (c === 0xf4) hi = 0x8f
    } else return i
    if (i + n >= b.length) return i // truncated sequence
    const second = b[i + 1]!
    if (second < lo || second > hi) return i
    for (let k = 2; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return i
    i += n + 1
  }
  return -1
}

/** Decodes file bytes as UTF-8 (a leading BOM is dropped), refusing anything else. */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (cause) {
    const offset = Math.max(0, firstInvalidUtf8(bytes))
    const before = new TextDecoder('utf-8').decode(bytes.subarray(0, offset))
    throw new MiradorError(
      'CONFIG_SYNTAX',
      `is not UTF-8 text (byte 0x${(bytes[offset] ?? 0).toString(16).padStart(2, '0')} cannot be decoded). Save the file as UTF-8.`,
      { cause, location: scanLocation(file, before, before.length), details: { byteOffset: offset } },
    )
  }
}

/** Maps one of yaml's own errors to a MiradorError. */
function fromYamlError(e: YAMLError, file: string, lc: LineCounter): MiradorError {
  const location = offsetToLocation(file, lc, e.pos[0])
  const details = { yamlCode: e.code }
  switch (e.code) {
    case 'TAB_AS_INDENT':
      return err('CONFIG_SYNTAX', `${e.message}. Indent with spaces, not tabs.`, location, details)
    case 'NON_STRING_KEY':
      return err(
        'CONFIG_UNSAFE',
        'a key here is a map or a list; Mirador keys are plain text. Write the key as a word, e.g. name: value.',
        location,
        details,
      )
    case 'RESOURCE_EXHAUSTION':
      return err('CONFIG_UNSAFE', `YAML too complex to read (${e.message}). Simplify this file.`, location, details)
    case 'TAG_RESOLVE_FAILED':
      return err('CONFIG_UNSAFE', `${e.message}. Remove the tag.`, location, details)
    default:
      return err('CONFIG_SYNTAX', `YAML syntax error: ${e.message}. Fix the YAML near here.`, location, details)
  }
}

interface CstScan {
  fatal?: MiradorError
  errors: MiradorError[]
}

/** One pass over the CST, without recursion: depth, tags, aliases, directives, documents. */
function scanCst(tokens: CST.Token[], file: string, lc: LineCounter): CstScan {
  const errors: MiradorError[] = []
  const where = (offset: number) => offsetToLocation(file, lc, offset)
  let aliases = 0
  let documents = 0
  const stack: Array<[unknown, number]> = []
  for (let i = tokens.length - 1; i >= 0; i--) stack.push([tokens[i], 0])
  while (stack.length > 0) {
    const [t, d] = stack.pop()!
    if (Array.isArray(t)) {
      for (let i = t.length - 1; i >= 0; i--) stack.push([t[i], d])
      continue
    }
    if (t === null || typeof t !== 'object') continue
    const tok = t as { type?: unknown; offset?: number; source?: string }
    let depth = d
    switch (tok.type) {
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        depth++
        if (depth > LIMITS.maxDepth) {
          return {
            errors,
            fatal: err(
              'CONFIG_UNSAFE',
              `nesting is deeper than ${LIMITS.maxDepth} levels of maps and lists. Mirador files are shallow; flatten this structure.`,
              where(tok.offset ?? 0),
              { limit: LIMITS.maxDepth },
            ),
          }
        }
        break
      case 'tag': {
        const tag = tok.source ?? ''
        if (!ALLOWED_TAGS.includes(tag)) {
          errors.push(
            err(
              'CONFIG_UNSAFE',
              `tag ${JSON.stringify(tag)} is not allowed: Mirador files hold plain data, not typed objects. Remove the tag (only ${ALLOWED_TAGS.join(', ')} are accepted).`,
              where(tok.offset ?? 0),
              { tag },
            ),
          )
        }
        break
      }
      case 'alias':
        aliases++
        if (aliases === LIMITS.maxAliases + 1) {
          errors.push(
            err(
              'CONFIG_UNSAFE',
              `more than ${LIMITS.maxAliases} aliases (*name) in one file. Write the values out instead of aliasing them.`,
              where(tok.offset ?? 0),
              { limit: LIMITS.maxAliases },
            ),
          )
        }
        break
      case 'directive': {
        const src = (tok.source ?? '').trim()
        const m = /^%YAML[ \t]+(\S+)/.exec(src)
        if (m && m[1] === '1.2') break
        errors.push(
          err(
            'CONFIG_UNSAFE',
            m
              ? `"%YAML ${m[1]}" is not supported: Mirador reads YAML 1.2 only (yes/no/on/off are text, 0755 is not octal). Remove the %YAML line.`
              : `directive ${JSON.stringify(src.split(/\s/)[0])} is not allowed in Mirador files. Remove the line.`,
            where(tok.offset ?? 0),
            { directive: src.slice(0, 100) },
          ),
        )
        break
      }
      case 'document':
        documents++
        if (documents === 2) {
          errors.push(
            err(
              'CONFIG_UNSAFE',
              'the file holds more than one YAML document (separated by ---). Keep one document per file: remove this part or move it to its own file.',
              where(tok.offset ?? 0),
            ),
          )
        }
        break
      default:
        break
    }
    // push children in reverse so that they are visited in source order
    const children: unknown[] = []
    for (const k in tok) {
      const v = (tok as Record<string, unknown>)[k]
      if (v !== null && typeof v === 'object') children.push(v)
    }
    for (let i = children.length - 1; i >= 0; i--) stack.push([children[i], depth])
  }
  return { errors }
}

/** Checks on the composed document: duplicate keys, `__proto__`, ambiguous numbers, circular aliases. */
function checkDocument(doc: Document.Parsed, file: string, lc: LineCounter): MiradorError[] {
  const errors: MiradorError[] = []
  const where = (n: { range?: readonly number[] | null } | null | undefined) =>
    offsetToLocation(file, lc, n?.range?.[0] ?? 0)
  visit(doc, {
    Map(_, map) {
      const seen = new Map<string, Node>()
      for (const pair of map.items) {
        const k = pair.key as Node | null
        const name = keyText(k)
        if (name === '__proto__') {
          errors.push(
            err('CONFIG_UNSAFE', 'the key "__proto__" is not allowed (it could tamper with objects). Remove it.', where(k), {
              key: name,
            }),
          )
        }
        const first = seen.get(name)
        if (first) {
          const firstAt = where(first)
          errors.push(
            err(
              'CONFIG_SYNTAX',
              `duplicate key ${JSON.stringify(name)} (first defined at line ${firstAt.line}). Keep only one of them.`,
              where(k),
              { key: name, first: firstAt },
            ),
          )
        } else if (k) seen.set(name, k)
      }
    },
    Scalar(_, s) {
      if (s.type === 'PLAIN' && typeof s.value === 'number' && LEADING_ZERO_INT.test(s.source ?? '')) {
        errors.push(
          err(
            'CONFIG_UNSAFE',
            `the number ${s.source} has a leading zero: YAML 1.1 reads it as octal, YAML 1.2 as decimal. Write it without the leading zero (or 0o… for octal, or in quotes for text).`,
            where(s),
            { source: s.source },
          ),
        )
      }
    },
    Alias(_, a) {
      const target = a.resolve(doc)
      if (!target) {
        errors.push(
          err(
            'CONFIG_SYNTAX',
            `alias *${a.source} refers to no anchor: define &${a.source} on a value before using *${a.source}, or remove the alias.`,
            where(a),
            { alias: a.source },
          ),
        )
      } else if (target?.range && a.range && target.range[0] <= a.range[0] && a.range[1] <= target.range[2]) {
        errors.push(
          err(
            'CONFIG_UNSAFE',
            `alias *${a.source} refers to the node that contains it (a circular structure). Remove the alias.`,
            where(a),
            { alias: a.source },
          ),
        )
      }
    },
  })
  return errors
}

function byPosition(a: MiradorError, b: MiradorError): number {
  const la = a.location
  const lb = b.location
  if (!la || !lb) return 0
  return la.line - lb.line || la.column - lb.column
}

/**
 * Parses `text` safely. Never throws for bad input: problems come back in `errors` (sorted by
 * position). Stops at the first phase that finds problems: characters, then the CST (depth is
 * fatal before composing), then yaml syntax together with the CST findings, then document checks,
 * then conversion to a plain value.
 */
export function parseYamlSafe(text: string, file: string): SafeParse {
  const lineCounter = new LineCounter()
  const fail = (errors: MiradorError[], doc?: Document.Parsed): SafeParse => ({
    lineCounter,
    errors: errors.sort(byPosition).slice(0, LIMITS.maxErrors),
    ...(doc ? { doc } : {}),
  })

  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > LIMITS.maxBytes) {
    return fail([tooLarge(file, bytes)])
  }
  const bad = CONTROL_CHAR.exec(text)
  if (bad) {
    const cp = bad[0].codePointAt(0) ?? 0
    return fail([
      err(
        'CONFIG_SYNTAX',
        `contains the control character U+${cp.toString(16).toUpperCase().padStart(4, '0')}: this does not look like a YAML text file. Save it as plain UTF-8 text.`,
        scanLocation(file, text, bad.index),
        { codePoint: cp },
      ),
    ])
  }

  let tokens: CST.Token[]
  try {
    tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text))
  } catch (cause) {
    return fail([unsafeFromThrow(cause, file)])
  }
  const scan = scanCst(tokens, file, lineCounter)
  if (scan.fatal) return fail([scan.fatal])

  let docs: Document.Parsed[]
  try {
    docs = Array.from(new Composer(YAML_OPTIONS).compose(tokens, true, text.length))
  } catch (cause) {
    return fail([unsafeFromThrow(cause, file)])
  }
  const doc = docs[0]
  if (!doc) return fail([...scan.errors, err('CONFIG_INVALID', 'is empty', { file, line: 1, column: 1 })])

  const errors = [...scan.errors, ...doc.errors.map((e) => fromYamlError(e, file, lineCounter))]
  if (errors.length > 0) return fail(errors, doc)

  const checks = checkDocument(doc, file, lineCounter)
  if (checks.length > 0) return fail(checks, doc)

  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: LIMITS.maxAliasExpansion })
  } catch (cause) {
    let first = doc.contents?.range?.[0] ?? 0
    visit(doc, {
      Alias(_, a) {
        first = a.range?.[0] ?? first
        return visit.BREAK
      },
    })
    return fail([unsafeFromThrow(cause, file, offsetToLocation(file, lineCounter, first))], doc)
  }
  return { doc, lineCounter, value, errors: [] }
}

export function tooLarge(file: string, bytes: number): MiradorError {
  return new MiradorError(
    'CONFIG_TOO_LARGE',
    `is ${bytes} bytes, over the ${LIMITS.maxBytes}-byte limit for Mirador YAML files. Split it or shorten it.`,
    { location: { file, line: 1, column: 1 }, details: { bytes, limit: LIMITS.maxBytes } },
  )
}

function unsafeFromThrow(cause: unknown, file: string, location?: SourceLocation): MiradorError {
  const what =
    cause instanceof RangeError
      ? 'nesting too deep to read'
      : cause instanceof ReferenceError && /excessive alias/i.test(cause.message)
        ? `aliases expand too much (a "billion laughs" pattern; at most ${LIMITS.maxAliasExpansion} expansions)`
        : `cannot be read (${cause instanceof Error ? cause.message : String(cause)})`
  return new MiradorError('CONFIG_UNSAFE', `YAML ${what}. Simplify this file.`, {
    cause,
    location: location ?? { file, line: 1, column: 1 },
  })
}
