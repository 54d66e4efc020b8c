/**
 * One ajv error → one Problem: the path it is about, whether the key or the value is to blame, and
 * the message (`stages.deep.options.temperature: must be <= 2 (got 5). Set a temperature between
 * 0 and 2.`). A file of its own because it is most of the error translation; grouping ajv's
 * cascades of errors into one Problem each is schema-errors.ts's job.
 */
import type { ErrorObject } from 'ajv'
import type { PathSegment } from './locate.js'
import { describeValue, didYouMean, hintOf, lastKey, lcFirst, prefix, sentence, typeWords } from './message-words.js'
import type { Schema } from './types.js'

/** What is wrong where, before it is located in the file and made a MiradorError. */
export interface Problem {
  path: PathSegment[]
  target: 'value' | 'key'
  message: string
  schemaPath: string
  keyword: string
  key?: string
}

/** An ajv instance path (`/stages/deep/options/stop/0`) → path segments, numbers for list items. */
export function pointerToPath(pointer: string, root: unknown): PathSegment[] {
  if (!pointer) return []
  const path: PathSegment[] = []
  let cur: unknown = root
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (Array.isArray(cur)) {
      const i = Number(seg)
      path.push(i)
      cur = cur[i]
    } else {
      path.push(seg)
      cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[seg] : undefined
    }
  }
  return path
}

const YAML11_BOOL = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/

function rangeAdvice(key: string, ps: Schema): string {
  const min = typeof ps.minimum === 'number' ? ps.minimum : undefined
  const xmin = typeof ps.exclusiveMinimum === 'number' ? ps.exclusiveMinimum : undefined
  const max = typeof ps.maximum === 'number' ? ps.maximum : undefined
  const xmax = typeof ps.exclusiveMaximum === 'number' ? ps.exclusiveMaximum : undefined
  const what = key === '' ? 'a value' : key.endsWith('s') ? key : `a ${key}`
  if (min !== undefined && max !== undefined) return ` Set ${what} between ${min} and ${max}.`
  if (min !== undefined) return ` Set ${what} of at least ${min}.`
  if (xmin !== undefined && max !== undefined) return ` Set ${what} above ${xmin} and at most ${max}.`
  if (xmin !== undefined) return ` Set ${what} above ${xmin}.`
  if (max !== undefined) return ` Set ${what} of at most ${max}.`
  if (xmax !== undefined) return ` Set ${what} below ${xmax}.`
  return ''
}

/** One ajv error → one Problem (or none, for errors that only repeat another). */
export function describeError(e: ErrorObject, root: unknown): Problem | undefined {
  const path = pointerToPath(e.instancePath, root)
  const ps = (e.parentSchema ?? {}) as Schema
  const data = e.data
  const p = prefix(path)
  const base = { path, schemaPath: e.schemaPath, keyword: e.keyword, target: 'value' as const }
  const hint = hintOf(ps)
  switch (e.keyword) {
    case 'if':
      return undefined
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty)
      const prop = ((ps.properties as Record<string, Schema> | undefined) ?? {})[missing]
      const desc = typeof prop?.description === 'string' ? prop.description : undefined
      const propHint = hintOf(prop)
      const why = hint
        ? `: ${sentence(hint)}`
        : propHint
          ? `. Add ${missing}: ${sentence(propHint)}`
          : desc
            ? `. Add ${missing}: ${sentence(lcFirst(desc))}`
            : `. Add ${missing}: to it.`
      return { ...base, target: 'key', key: missing, message: `${p}missing required key "${missing}"${why}` }
    }
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty)
      const allowed = Object.keys((ps.properties as Record<string, unknown> | undefined) ?? {})
      const guess = didYouMean(extra, allowed)
      let msg = `${p}unknown key ${JSON.stringify(extra)}.`
      if (extra === '<<') msg += ' YAML merge keys (<<) are not supported in Mirador files: write the keys out.'
      else if (guess) msg += ` Did you mean "${guess}"?`
      msg += allowed.length ? ` Allowed keys: ${allowed.join(', ')}.` : ' No keys are allowed here.'
      return { ...base, path: [...path, extra], target: 'key', key: extra, message: msg }
    }
    case 'type': {
      const expected = (e.params as { type: unknown }).type
      const exp = Array.isArray(expected) ? expected.map(String) : String(expected).split(',')
      if (data === null || data === undefined) {
        return {
          ...base,
          key: lastKey(path),
          message: `${p}is empty; expected ${typeWords(exp)}.${hint ? ` Give ${hint}.` : ''}`,
        }
      }
      let msg = `${p}must be ${typeWords(exp)} (got ${describeValue(data)}).`
      if (exp.includes('boolean') && typeof data === 'string' && YAML11_BOOL.test(data)) {
        msg += ` Mirador reads YAML 1.2, where ${data} is text: use true/false.`
      } else if ((exp.includes('number') || exp.includes('integer')) && typeof data === 'string') {
        if (/^[-+]?[0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?$/.test(data)) {
          msg += ` YAML 1.2 has no base-60 numbers (${data} is text): write the plain number.`
        } else if (/^[-+]?[0-9][0-9_]*(\.[0-9_]*)?$/.test(data.trim())) {
          msg += ' Remove the quotes (and any _ separators) so that it reads as a number.'
        }
      } else if (exp.includes('integer') && typeof data === 'number') {
        msg = `${p}must be a whole number (got ${data}).`
      } else if (exp.includes('string') && (typeof data === 'number' || typeof data === 'boolean')) {
        msg += ' Put it in quotes if you mean text.'
      }
      if (hint && !msg.includes('true/false')) msg += ` Expected ${hint}.`
      return { ...base, key: lastKey(path), message: msg }
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const { comparison, limit } = e.params as { comparison: string; limit: number }
      const key = lastKey(path)
      // a value in a free-form map or a list has no name of its own
      const named =
        !/\/(additionalProperties|items)\/[^/]+$/.test(e.schemaPath) && typeof path[path.length - 1] === 'string'
      return {
        ...base,
        key,
        message: `${p}must be ${comparison} ${limit} (got ${describeValue(data)}).${rangeAdvice(named ? key : '', ps)}`,
      }
    }
    case 'minLength': {
      const limit = (e.params as { limit: number }).limit
      const msg =
        data === ''
          ? `${p}must not be empty.${hint ? ` Give ${hint}.` : ''}`
          : `${p}must be at least ${limit} characters long (got ${String(data).length}).`
      return { ...base, key: lastKey(path), message: msg }
    }
    case 'maxLength': {
      const limit = (e.params as { limit: number }).limit
      return {
        ...base,
        key: lastKey(path),
        message: `${p}is too long: at most ${limit} characters (got ${String(data).length}). Shorten it.`,
      }
    }
    case 'pattern':
    case 'format': {
      const what =
        hint ??
        (e.keyword === 'format'
          ? `a valid ${String((e.params as { format: string }).format)}`
          : `text matching ${String((e.params as { pattern: string }).pattern)}`)
      return { ...base, key: lastKey(path), message: `${p}must be ${what} (got ${describeValue(data)}).` }
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []) as unknown[]
      const guess =
        typeof data === 'string'
          ? didYouMean(
              data,
              allowed.filter((a): a is string => typeof a === 'string'),
            )
          : undefined
      let msg = `${p}must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${describeValue(data)}).`
      if (guess) msg += ` Did you mean "${guess}"?`
      return { ...base, key: lastKey(path), message: msg }
    }
    case 'const': {
      const allowed = (e.params as { allowedValue: unknown }).allowedValue
      return {
        ...base,
        key: lastKey(path),
        message: `${p}must be ${JSON.stringify(allowed)} (got ${describeValue(data)}).`,
      }
    }
    case 'minItems': {
      const limit = (e.params as { limit: number }).limit
      return {
        ...base,
        key: lastKey(path),
        message: `${p}must list at least ${limit} item${limit === 1 ? '' : 's'}.${hint ? ` Give ${hint}.` : ''}`,
      }
    }
    case 'maxItems': {
      const limit = (e.params as { limit: number }).limit
      return {
        ...base,
        key: lastKey(path),
        message: `${p}lists ${Array.isArray(data) ? data.length : '?'} items; at most ${limit} are allowed.`,
      }
    }
    case 'uniqueItems': {
      const { i, j } = e.params as { i: number; j: number }
      const arr = Array.isArray(data) ? data : []
      const later = Math.max(i, j)
      return {
        ...base,
        path: [...path, later],
        key: lastKey(path),
        message:
          `${p}lists ${describeValue(arr[later])} twice (items ${Math.min(i, j)} and ${later}). ` +
          'Remove the duplicate.',
      }
    }
    case 'minProperties': {
      const limit = (e.params as { limit: number }).limit
      const empty = data && typeof data === 'object' && Object.keys(data).length === 0
      return {
        ...base,
        target: 'key',
        key: lastKey(path),
        message: empty
          ? `${p}is empty.${hint ? ` Add ${hint}.` : ` Add at least ${limit} entr${limit === 1 ? 'y' : 'ies'}.`}`
          : `${p}must have at least ${limit} entries.`,
      }
    }
    case 'maxProperties': {
      const limit = (e.params as { limit: number }).limit
      const count = data && typeof data === 'object' ? Object.keys(data).length : '?'
      return {
        ...base,
        target: 'key',
        key: lastKey(path),
        message: `${p}has ${count} entries; at most ${limit} are allowed.`,
      }
    }
    case 'not':
      // a schema may say why in its hint: "must be <hint>"
      return {
        ...base,
        key: lastKey(path),
        message: hint ? `${p}must be ${hint}.` : `${p}${describeValue(data)} is not allowed here.`,
      }
    default:
      return { ...base, key: lastKey(path), message: `${p}${e.message ?? 'is invalid'} (got ${describeValue(data)}).` }
  }
}

/** A bad key in a map with free-form keys (`propertyNames`): one message per key. */
export function describeBadKey(outer: ErrorObject, inner: ErrorObject[], root: unknown): Problem {
  const path = pointerToPath(outer.instancePath, root)
  const key = String((outer.params as { propertyName: string }).propertyName)
  const p = prefix(path)
  const reserved = inner.some((e) => e.keyword === 'not') || ['__proto__', 'constructor', 'prototype'].includes(key)
  const named = inner.find((e) => hintOf(e.parentSchema))
  const hint = named ? hintOf(named.parentSchema) : hintOf((outer.parentSchema as Schema | undefined)?.propertyNames)
  const message = reserved
    ? `${p}the name ${JSON.stringify(key)} is reserved (it could tamper with objects). Choose another name.`
    : `${p}invalid name ${JSON.stringify(key)}: must be ${hint ?? 'a valid name'}. Rename it.`
  return { path: [...path, key], target: 'key', key, message, schemaPath: outer.schemaPath, keyword: 'propertyNames' }
}
