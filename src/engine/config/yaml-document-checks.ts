/**
 * Checks on the composed YAML Document, which yaml itself lets through: duplicate keys (named with
 * the line of the first one), the key `__proto__`, integers with a leading zero (octal in YAML
 * 1.1, decimal in 1.2) and aliases that refer to no anchor or to a node that contains them.
 */
import type { Document, LineCounter, Node } from 'yaml'
import { yaml } from './yaml-lib.js'
import type { MiradorError } from '../errors.js'
import { keyText, offsetToLocation } from './locate.js'
import { err } from './yaml-errors.js'

const LEADING_ZERO_INT = /^[-+]?0[0-9_]+$/

/** Checks on the composed document: duplicate keys, `__proto__`, ambiguous numbers, circular aliases. */
export function checkDocument(doc: Document.Parsed, file: string, lc: LineCounter): MiradorError[] {
  const errors: MiradorError[] = []
  const where = (n: { range?: readonly number[] | null } | null | undefined) =>
    offsetToLocation(file, lc, n?.range?.[0] ?? 0)
  yaml().visit(doc, {
    Map(_, map) {
      const seen = new Map<string, Node>()
      for (const pair of map.items) {
        const k = pair.key as Node | null
        const name = keyText(k)
        if (name === '__proto__') {
          errors.push(
            err(
              'CONFIG_UNSAFE',
              'the key "__proto__" is not allowed (it could tamper with objects). Remove it.',
              where(k),
              {
                key: name,
              },
            ),
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
            `the number ${s.source} has a leading zero: YAML 1.1 reads it as octal, YAML 1.2 as decimal. ` +
              'Write it without the leading zero (or 0o… for octal, or in quotes for text).',
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
            `alias *${a.source} refers to no anchor: ` +
              `define &${a.source} on a value before using *${a.source}, or remove the alias.`,
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
