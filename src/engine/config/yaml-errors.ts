/**
 * The MiradorErrors of YAML reading, in one place because every phase of yaml-safe.ts builds
 * them: the common constructor, the size error (also thrown by load.ts before reading), yaml's own
 * errors and exceptions mapped to Mirador's codes, and the order errors are reported in.
 */
import type { LineCounter, YAMLError } from 'yaml'
import { MiradorError, type ErrorCode } from '../errors.js'
import { LIMITS } from './limits.js'
import { offsetToLocation } from './locate.js'
import type { SourceLocation } from './types.js'

/** A MiradorError at a position in a YAML file. */
export function err(
  code: ErrorCode,
  message: string,
  location: SourceLocation,
  details?: Record<string, unknown>,
): MiradorError {
  return new MiradorError(code, message, { location, ...(details ? { details } : {}) })
}

/** CONFIG_TOO_LARGE for a file or text of `bytes` bytes. */
export function tooLarge(file: string, bytes: number): MiradorError {
  return new MiradorError(
    'CONFIG_TOO_LARGE',
    `is ${bytes} bytes, over the ${LIMITS.maxBytes}-byte limit for Mirador YAML files. Split it or shorten it.`,
    { location: { file, line: 1, column: 1 }, details: { bytes, limit: LIMITS.maxBytes } },
  )
}

/** Maps one of yaml's own errors to a MiradorError. */
export function fromYamlError(e: YAMLError, file: string, lc: LineCounter): MiradorError {
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

/** A MiradorError for an exception thrown by yaml (deep nesting, alias expansion, …). */
export function unsafeFromThrow(cause: unknown, file: string, location?: SourceLocation): MiradorError {
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

/** Orders errors by line, then column. */
export function byPosition(a: MiradorError, b: MiradorError): number {
  const la = a.location
  const lb = b.location
  if (!la || !lb) return 0
  return la.line - lb.line || la.column - lb.column
}
