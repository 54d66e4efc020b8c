/**
 * Checks on yaml's CST (concrete syntax tree), made before the Document is composed: nesting depth
 * (yaml's composer recurses, so a `[[[[…` bomb must be stopped here), explicit tags, the number of
 * aliases, directives and the number of documents. One pass, without recursion.
 */
import type { CST, LineCounter } from 'yaml'
import type { MiradorError } from '../errors.js'
import { LIMITS } from './limits.js'
import { offsetToLocation } from './locate.js'
import { err } from './yaml-errors.js'

/** Explicit tags accepted; they only pick a core type. */
export const ALLOWED_TAGS: readonly string[] = Object.freeze([
  '!!str',
  '!!int',
  '!!float',
  '!!bool',
  '!!null',
  '!!map',
  '!!seq',
])

export interface CstScan {
  fatal?: MiradorError
  errors: MiradorError[]
}

/** One pass over the CST, without recursion: depth, tags, aliases, directives, documents. */
export function scanCst(tokens: CST.Token[], file: string, lc: LineCounter): CstScan {
  const errors: MiradorError[] = []
  // every finding here is CONFIG_UNSAFE, at the token that shows it
  const unsafeAt = (offset: number | undefined, message: string, details?: Record<string, unknown>): MiradorError =>
    err('CONFIG_UNSAFE', message, offsetToLocation(file, lc, offset ?? 0), details)
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
            fatal: unsafeAt(
              tok.offset,
              `nesting is deeper than ${LIMITS.maxDepth} levels of maps and lists. ` +
                'Mirador files are shallow; flatten this structure.',
              { limit: LIMITS.maxDepth },
            ),
          }
        }
        break
      case 'tag': {
        const tag = tok.source ?? ''
        if (!ALLOWED_TAGS.includes(tag)) {
          errors.push(
            unsafeAt(
              tok.offset,
              `tag ${JSON.stringify(tag)} is not allowed: Mirador files hold plain data, not typed objects. ` +
                `Remove the tag (only ${ALLOWED_TAGS.join(', ')} are accepted).`,
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
            unsafeAt(
              tok.offset,
              `more than ${LIMITS.maxAliases} aliases (*name) in one file. ` +
                'Write the values out instead of aliasing them.',
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
          unsafeAt(
            tok.offset,
            m
              ? `"%YAML ${m[1]}" is not supported: Mirador reads YAML 1.2 only ` +
                  '(yes/no/on/off are text, 0755 is not octal). Remove the %YAML line.'
              : `directive ${JSON.stringify(src.split(/\s/)[0])} is not allowed in Mirador files. Remove the line.`,
            { directive: src.slice(0, 100) },
          ),
        )
        break
      }
      case 'document':
        documents++
        if (documents === 2) {
          errors.push(
            unsafeAt(
              tok.offset,
              'the file holds more than one YAML document (separated by ---). ' +
                'Keep one document per file: remove this part or move it to its own file.',
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
