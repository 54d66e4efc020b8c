/**
 * Safe YAML reading for Mirador files, with the yaml Document API (comments and layout survive
 * for files the program rewrites). This file runs the phases in order; the checks themselves are
 * in yaml-text.ts (bytes and text), yaml-cst-checks.ts (before composing), yaml-document-checks.ts
 * (after composing) and yaml-errors.ts (yaml's own errors and exceptions).
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
import type { CST, Document, LineCounter } from 'yaml'
import { yaml } from './yaml-lib.js'
import type { MiradorError } from '../errors.js'
import { LIMITS } from './limits.js'
import { offsetToLocation } from './locate.js'
import { scanCst } from './yaml-cst-checks.js'
import { checkDocument } from './yaml-document-checks.js'
import { byPosition, err, fromYamlError, unsafeFromThrow } from './yaml-errors.js'
import { checkText } from './yaml-text.js'

const YAML_OPTIONS = {
  version: '1.2',
  schema: 'core',
  merge: false,
  stringKeys: true,
  uniqueKeys: false, // checked by checkDocument, to name the line of the first occurrence
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

/**
 * Parses `text` safely. Never throws for bad input: problems come back in `errors` (sorted by
 * position). Stops at the first phase that finds problems: characters, then the CST (depth is
 * fatal before composing), then yaml syntax together with the CST findings, then document checks,
 * then conversion to a plain value.
 */
export function parseYamlSafe(text: string, file: string): SafeParse {
  const { Composer, LineCounter, Parser, visit } = yaml()
  const lineCounter = new LineCounter()
  const fail = (errors: MiradorError[], doc?: Document.Parsed): SafeParse => ({
    lineCounter,
    errors: errors.sort(byPosition).slice(0, LIMITS.maxErrors),
    ...(doc ? { doc } : {}),
  })

  const badText = checkText(text, file)
  if (badText) return fail([badText])

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
