/**
 * JSON Schema validation (ajv) of loaded YAML values, and the translation of ajv's errors into
 * MiradorErrors a person can act on: `stages.deep.options.temperature: must be <= 2 (got 5). Set a
 * temperature between 0 and 2.` at the line and column of the offending node.
 *
 * Schemas are read from schemas/*.schema.json and compiled lazily: only the kind being loaded,
 * once per process (and once per distinct set of plugin stage keys).
 *
 * Schemas may carry `x-hint`, a noun phrase saying what a value should look like ("an http:// or
 * https:// URL, e.g. …"); messages use it where ajv alone would only quote a regular expression.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import { MiradorError } from '../errors.js'
import { LIMITS } from './limits.js'
import { locate, type PathSegment } from './locate.js'
import type { ConfigKind, Loaded } from './types.js'

type Schema = Record<string, unknown>

const SCHEMA_FILES: Record<ConfigKind, string> = {
  chain: 'chain.schema.json',
  manifest: 'manifest.schema.json',
  config: 'config.schema.json',
  profile: 'profile.schema.json',
  tool: 'tool.schema.json',
}

/** Absolute path of a kind's schema file (schemas/ at the package root, from src/ or dist/). */
export function schemaFile(kind: ConfigKind): string {
  return fileURLToPath(new URL(`../../../schemas/${SCHEMA_FILES[kind]}`, import.meta.url))
}

const schemaCache = new Map<ConfigKind, Schema>()

/** The parsed JSON Schema of a kind (read once). Do not mutate it. */
export function getSchema(kind: ConfigKind): Schema {
  let s = schemaCache.get(kind)
  if (!s) {
    s = JSON.parse(readFileSync(schemaFile(kind), 'utf8')) as Schema
    schemaCache.set(kind, s)
  }
  return s
}

let ajv: Ajv | undefined
const validators = new Map<string, ValidateFunction>()

function isHttpUri(s: string): boolean {
  try {
    return Boolean(new URL(s).protocol)
  } catch {
    return false
  }
}

/**
 * The one Ajv instance, created on first use. ajv is required lazily (synchronously: loading is
 * sync) so that importing this module costs nothing until a file is validated. Mirador's own
 * schemas are checked against the JSON Schema meta-schema by the tests, not at run time
 * (`validateSchema: false` halves the first compile); plugin schemas are checked when added.
 */
function getAjv(): Ajv {
  if (!ajv) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv')
    ajv = new AjvClass({
      allErrors: true,
      verbose: true,
      strict: true,
      strictRequired: false, // `then: { required: [base] }` names properties declared beside it
      strictTypes: false,
      allowUnionTypes: true,
      validateSchema: false,
      code: { optimize: false },
    })
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' })
    ajv.addFormat('uri', { type: 'string', validate: isHttpUri })
  }
  return ajv
}

/** JSON.stringify with sorted keys, for cache keys. */
function stableKey(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'undefined'
  if (Array.isArray(v)) return `[${v.map(stableKey).join(',')}]`
  const o = v as Record<string, unknown>
  return `{${Object.keys(o)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableKey(o[k])}`)
    .join(',')}}`
}

/**
 * A copy of a schema with its internal `$ref`s (`#/definitions/…`) replaced by their targets and
 * `definitions` dropped. Mirador's schemas have no recursive references.
 */
export function inlineRefs(root: Schema): Schema {
  const defs = (root.definitions ?? {}) as Record<string, unknown>
  const walk = (node: unknown, depth: number): unknown => {
    if (depth > 64) throw new MiradorError('INTERNAL', 'schema $refs nest too deeply (a recursive schema?)')
    if (Array.isArray(node)) return node.map((n) => walk(n, depth + 1))
    if (node === null || typeof node !== 'object') return node
    const o = node as Schema
    const out: Schema = {}
    if (typeof o.$ref === 'string') {
      const m = /^#\/definitions\/([^/]+)$/.exec(o.$ref)
      if (!m || !(m[1]! in defs)) throw new MiradorError('INTERNAL', `unsupported $ref ${o.$ref}`)
      Object.assign(out, walk(defs[m[1]!], depth + 1) as Schema)
    }
    for (const [k, v] of Object.entries(o)) {
      if (k === '$ref' || (k === 'definitions' && depth === 0)) continue
      out[k] = walk(v, depth + 1)
    }
    return out
  }
  return walk(root, 0) as Schema
}

/**
 * The compiled validator for a kind. For chains, `extraStageProperties` (from plugins) are added
 * to the stage schema's `properties`; each distinct set is compiled once.
 */
export function getValidator(kind: ConfigKind, extraStageProperties?: Record<string, object>): ValidateFunction {
  const extra = kind === 'chain' && extraStageProperties && Object.keys(extraStageProperties).length > 0 ? extraStageProperties : undefined
  const cacheKey = extra ? `${kind}+${stableKey(extra)}` : kind
  let v = validators.get(cacheKey)
  if (v) return v
  // internal $refs are inlined so that every error's schemaPath follows the document's shape
  // (this is what lets anyOf alternatives be grouped by path when their errors are collapsed)
  const schema = inlineRefs(getSchema(kind))
  if (extra) {
    delete schema.$id // the variant must not clash with the base schema's id
    const stage = ((schema.properties as Record<string, Schema>).stages as Schema).additionalProperties as Schema
    const props = stage.properties as Record<string, unknown>
    for (const [key, sub] of Object.entries(extra)) {
      if (!/^[a-z][a-z0-9_-]{0,63}$/.test(key) || Object.hasOwn(props, key)) {
        throw new MiradorError(
          'PLUGIN_API',
          Object.hasOwn(props, key)
            ? `a plugin adds the stage key "${key}", which Mirador already defines. Pick another key name in the plugin.`
            : `a plugin adds the stage key ${JSON.stringify(key)}; stage keys are lowercase words (a-z, 0-9, _ and -).`,
          { details: { key } },
        )
      }
      if (!getAjv().validateSchema(sub)) {
        throw new MiradorError(
          'PLUGIN_API',
          `a plugin's schema for the stage key "${key}" is not a valid JSON Schema: ${getAjv().errorsText(getAjv().errors)}`,
          { details: { key } },
        )
      }
      props[key] = sub
    }
  }
  try {
    v = getAjv().compile(schema)
  } catch (cause) {
    throw new MiradorError(
      extra ? 'PLUGIN_API' : 'INTERNAL',
      extra
        ? `a plugin's stage schema is not a valid JSON Schema: ${cause instanceof Error ? cause.message : String(cause)}`
        : `the ${kind} schema does not compile: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    )
  }
  validators.set(cacheKey, v)
  return v
}

/* ----------------------------------------------------------------------------------------------
 * Error translation
 * -------------------------------------------------------------------------------------------- */

interface Problem {
  path: PathSegment[]
  target: 'value' | 'key'
  message: string
  schemaPath: string
  keyword: string
  key?: string
}

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

function pointerToPath(pointer: string, root: unknown): PathSegment[] {
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

function typeWords(t: unknown): string {
  const types = Array.isArray(t) ? t : [t]
  return types.map((x) => TYPE_WORDS[String(x)] ?? String(x)).join(' or ')
}

/** Edit distance where swapping two neighbouring letters counts as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)))
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

const YAML11_BOOL = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/

function lastKey(path: readonly PathSegment[]): string {
  for (let i = path.length - 1; i >= 0; i--) {
    const s = path[i]
    if (typeof s === 'string') return s
  }
  return 'value'
}

function hintOf(schema: unknown): string | undefined {
  if (schema && typeof schema === 'object') {
    const h = (schema as Schema)['x-hint']
    if (typeof h === 'string') return h
  }
  return undefined
}

function sentence(s: string): string {
  const t = s.trim()
  return /[.!?]$/.test(t) ? t : `${t}.`
}

function lcFirst(s: string): string {
  return /^[A-Z][a-z]/.test(s) ? s[0]!.toLowerCase() + s.slice(1) : s
}

function prefix(path: readonly PathSegment[]): string {
  const p = formatPath(path)
  return p ? `${p}: ` : ''
}

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
function describeError(e: ErrorObject, root: unknown): Problem | undefined {
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
        return { ...base, key: lastKey(path), message: `${p}is empty; expected ${typeWords(exp)}.${hint ? ` Give ${hint}.` : ''}` }
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
      const named = !/\/(additionalProperties|items)\/[^/]+$/.test(e.schemaPath) && typeof path[path.length - 1] === 'string'
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
      return { ...base, key: lastKey(path), message: `${p}is too long: at most ${limit} characters (got ${String(data).length}). Shorten it.` }
    }
    case 'pattern':
    case 'format': {
      const what = hint ?? (e.keyword === 'format' ? `a valid ${String((e.params as { format: string }).format)}` : `text matching ${String((e.params as { pattern: string }).pattern)}`)
      return { ...base, key: lastKey(path), message: `${p}must be ${what} (got ${describeValue(data)}).` }
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []) as unknown[]
      const guess = typeof data === 'string' ? didYouMean(data, allowed.filter((a): a is string => typeof a === 'string')) : undefined
      let msg = `${p}must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')} (got ${describeValue(data)}).`
      if (guess) msg += ` Did you mean "${guess}"?`
      return { ...base, key: lastKey(path), message: msg }
    }
    case 'const': {
      const allowed = (e.params as { allowedValue: unknown }).allowedValue
      return { ...base, key: lastKey(path), message: `${p}must be ${JSON.stringify(allowed)} (got ${describeValue(data)}).` }
    }
    case 'minItems': {
      const limit = (e.params as { limit: number }).limit
      return { ...base, key: lastKey(path), message: `${p}must list at least ${limit} item${limit === 1 ? '' : 's'}.${hint ? ` Give ${hint}.` : ''}` }
    }
    case 'maxItems': {
      const limit = (e.params as { limit: number }).limit
      return { ...base, key: lastKey(path), message: `${p}lists ${Array.isArray(data) ? data.length : '?'} items; at most ${limit} are allowed.` }
    }
    case 'uniqueItems': {
      const { i, j } = e.params as { i: number; j: number }
      const arr = Array.isArray(data) ? data : []
      const later = Math.max(i, j)
      return {
        ...base,
        path: [...path, later],
        key: lastKey(path),
        message: `${p}lists ${describeValue(arr[later])} twice (items ${Math.min(i, j)} and ${later}). Remove the duplicate.`,
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
      return {
        ...base,
        target: 'key',
        key: lastKey(path),
        message: `${p}has ${data && typeof data === 'object' ? Object.keys(data).length : '?'} entries; at most ${limit} are allowed.`,
      }
    }
    case 'not':
      return { ...base, key: lastKey(path), message: `${p}${describeValue(data)} is not allowed here.` }
    default:
      return { ...base, key: lastKey(path), message: `${p}${e.message ?? 'is invalid'} (got ${describeValue(data)}).` }
  }
}

/** A bad key in a map with free-form keys (`propertyNames`): one message per key. */
function describeBadKey(outer: ErrorObject, inner: ErrorObject[], root: unknown): Problem {
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

function isUnder(e: ErrorObject, parent: ErrorObject): boolean {
  return e.schemaPath.startsWith(`${parent.schemaPath}/`) && e.instancePath.startsWith(parent.instancePath)
}

/**
 * Collapses ajv's cascades into one message each:
 * - propertyNames: the inner pattern/not error and the outer one → one "invalid name" message;
 * - anyOf/oneOf: when exactly one alternative has the right type and it failed on keys or deeper
 *   values, its own errors are reported; otherwise one message built from the alternatives' `x-hint`;
 * - if/then: the `if` error is dropped, the `then` error (e.g. a missing key) stays.
 */
function collapse(errors: ErrorObject[], root: unknown): Problem[] {
  const consumed = new Set<ErrorObject>()
  const problems: Problem[] = []

  for (const outer of errors) {
    if (outer.keyword !== 'propertyNames') continue
    const name = (outer.params as { propertyName?: string }).propertyName
    // inner errors carry `propertyName`; with a $ref their schemaPath is not under the outer one
    const inner = errors.filter((e) => e !== outer && e.propertyName === name && e.instancePath === outer.instancePath)
    inner.forEach((e) => consumed.add(e))
    consumed.add(outer)
    problems.push(describeBadKey(outer, inner, root))
  }

  // outermost alternatives first
  const alts = errors
    .filter((e) => (e.keyword === 'anyOf' || e.keyword === 'oneOf') && !consumed.has(e))
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length)
  for (const alt of alts) {
    if (consumed.has(alt)) continue
    consumed.add(alt)
    const branchErrors = errors.filter((e) => e !== alt && !consumed.has(e) && isUnder(e, alt))
    if (alt.keyword === 'oneOf' && branchErrors.length === 0) {
      const path = pointerToPath(alt.instancePath, root)
      problems.push({
        path,
        target: 'value',
        key: lastKey(path),
        schemaPath: alt.schemaPath,
        keyword: alt.keyword,
        message: `${prefix(path)}matches more than one accepted form; make it unambiguous.`,
      })
      continue
    }
    // errors already reported (bad key names) still tell which alternative had the right type
    const allBranchErrors = errors.filter((e) => e !== alt && isUnder(e, alt))
    branchErrors.forEach((e) => consumed.add(e))
    const byBranch = new Map<string, ErrorObject[]>()
    for (const e of allBranchErrors) {
      const idx = e.schemaPath.slice(alt.schemaPath.length + 1).split('/')[0] ?? ''
      const list = byBranch.get(idx) ?? []
      list.push(e)
      byBranch.set(idx, list)
    }
    const typed = [...byBranch.values()].filter(
      (list) => !list.some((e) => e.keyword === 'type' && e.instancePath === alt.instancePath),
    )
    const chosen = typed.length === 1 ? typed[0]! : undefined
    const structural =
      chosen?.some(
        (e) => e.instancePath !== alt.instancePath || ['required', 'additionalProperties', 'propertyNames'].includes(e.keyword),
      ) ?? false
    if (chosen && structural) {
      problems.push(...collapse(chosen.filter((e) => branchErrors.includes(e)), root))
    } else {
      const path = pointerToPath(alt.instancePath, root)
      const ps = (alt.parentSchema ?? {}) as Schema
      const hint = hintOf(ps)
      const forms = hint ?? typeWords(((ps[alt.keyword] as Schema[] | undefined) ?? []).map((s) => s.type ?? 'value'))
      problems.push({
        path,
        target: 'value',
        key: lastKey(path),
        schemaPath: alt.schemaPath,
        keyword: alt.keyword,
        message: `${prefix(path)}must be ${forms} (got ${describeValue(alt.data)}).`,
      })
    }
  }

  // a value outside an enum is also often of the wrong type: the enum message says more
  const listed = new Set(errors.filter((e) => (e.keyword === 'enum' || e.keyword === 'const') && !consumed.has(e)).map((e) => e.instancePath))
  for (const e of errors) {
    if (consumed.has(e)) continue
    if (e.keyword === 'type' && listed.has(e.instancePath)) continue
    const pr = describeError(e, root)
    if (pr) problems.push(pr)
  }
  // "unknown key modle. Did you mean model?" already explains "missing required key model"
  return problems.filter(
    (pr) =>
      pr.keyword !== 'required' ||
      !problems.some(
        (o) =>
          o.keyword === 'additionalProperties' &&
          o.message.includes(`Did you mean "${pr.key}"?`) &&
          formatPath(o.path.slice(0, -1)) === formatPath(pr.path),
      ),
  )
}

/** ajv errors → MiradorErrors (CONFIG_INVALID), located, sorted by position, without duplicates. */
export function toMiradorErrors(errors: readonly ErrorObject[], loaded: Loaded<unknown>): MiradorError[] {
  const problems = collapse([...errors], loaded.value)
  const seen = new Set<string>()
  const out: Array<{ err: MiradorError; line: number; column: number }> = []
  for (const pr of problems) {
    const location = locate(loaded, pr.path, pr.target)
    const id = `${location.line}:${location.column}:${pr.message}`
    if (seen.has(id)) continue
    seen.add(id)
    out.push({
      err: new MiradorError('CONFIG_INVALID', pr.message, {
        location,
        details: { schemaPath: pr.schemaPath, key: pr.key, path: formatPath(pr.path), keyword: pr.keyword },
      }),
      line: location.line,
      column: location.column,
    })
  }
  out.sort((a, b) => a.line - b.line || a.column - b.column)
  return out.slice(0, LIMITS.maxErrors).map((o) => o.err)
}
