/**
 * JSON Schema validation (ajv) of loaded YAML values: where the schemas are, the one Ajv instance,
 * and the compiled validators. Turning ajv's errors into messages a person can act on lives in
 * schema-errors.ts (and the files it uses), so that this file stays about schemas and compilation.
 *
 * Schemas are read from schemas/*.schema.json and compiled lazily: only the kind being loaded,
 * once per process (and once per distinct set of plugin stage keys).
 *
 * Schemas may carry `x-hint`, a noun phrase saying what a value should look like ("an http:// or
 * https:// URL, e.g. …"); messages use it where ajv alone would only quote a regular expression.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { Ajv, ValidateFunction } from 'ajv'
import { MiradorError } from '../errors.js'
import { PACKAGE_ROOT } from '../package-root.js'
import { stableKey } from '../stable-key.js'
import type { ConfigKind, Schema } from './types.js'

const SCHEMA_FILES: Record<ConfigKind, string> = {
  chain: 'chain.schema.json',
  manifest: 'manifest.schema.json',
  config: 'config.schema.json',
  profile: 'profile.schema.json',
  tool: 'tool.schema.json',
  'federation-group': 'federation-group.schema.json',
}

/** Absolute path of a file under schemas/ (at the package root, from src/ or dist/). */
export function schemaPath(rel: string): string {
  return path.join(PACKAGE_ROOT, 'schemas', rel)
}

/** Absolute path of a kind's schema file. */
export function schemaFile(kind: ConfigKind): string {
  return schemaPath(SCHEMA_FILES[kind])
}

const schemaCache = new Map<string, Schema>()

/** A schema file under schemas/, parsed (read once). Do not mutate it. */
export function schemaAt(rel: string): Schema {
  let s = schemaCache.get(rel)
  if (!s) {
    s = JSON.parse(readFileSync(schemaPath(rel), 'utf8')) as Schema
    schemaCache.set(rel, s)
  }
  return s
}

/** The parsed JSON Schema of a kind (read once). Do not mutate it. */
export function getSchema(kind: ConfigKind): Schema {
  return schemaAt(SCHEMA_FILES[kind])
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
      // plugin options schemas give their defaults (schemas/plugins/*.json); no other schema has any
      useDefaults: true,
      code: { optimize: false },
    })
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' })
    ajv.addFormat('uri', { type: 'string', validate: isHttpUri })
  }
  return ajv
}

/**
 * A copy of a schema with its `$ref`s replaced by their targets and `definitions` dropped: refs
 * inside the file (`#/definitions/x`) and to another file under schemas/ (`plugins/memory.schema.json`,
 * optionally with `#/definitions/x`), which is how config.schema.json takes each built-in plugin's
 * options. Mirador's schemas have no recursive references.
 */
export function inlineRefs(root: Schema, dir = '', keepDefaults = true): Schema {
  const walk = (node: unknown, doc: Schema, docDir: string, depth: number): unknown => {
    if (depth > 64) throw new MiradorError('INTERNAL', 'schema $refs nest too deeply (a recursive schema?)')
    if (Array.isArray(node)) return node.map((n) => walk(n, doc, docDir, depth + 1))
    if (node === null || typeof node !== 'object') return node
    const o = node as Schema
    const out: Schema = {}
    if (typeof o.$ref === 'string') {
      const m = /^([\w./-]*\.json)?(?:#\/definitions\/([^/]+))?$/.exec(o.$ref)
      if (!m || (!m[1] && !m[2])) throw new MiradorError('INTERNAL', `unsupported $ref ${o.$ref}`)
      const rel = m[1] ? path.posix.join(docDir, m[1]) : undefined
      const target = rel ? schemaAt(rel) : doc
      const targetDir = rel ? path.posix.dirname(rel) : docDir
      const defs = (target.definitions ?? {}) as Record<string, unknown>
      const picked = m[2] ? defs[m[2]] : target
      if (picked === undefined) throw new MiradorError('INTERNAL', `unsupported $ref ${o.$ref}`)
      const inlined = walk(picked, target, targetDir === '.' ? '' : targetDir, depth + 1) as Schema
      for (const k of ['$id', '$schema', 'definitions']) delete inlined[k]
      Object.assign(out, inlined)
    }
    for (const [k, v] of Object.entries(o)) {
      if (k === '$ref' || (k === 'definitions' && node === doc)) continue
      if (k === 'default' && !keepDefaults) continue
      out[k] = walk(v, doc, docDir, depth + 1)
    }
    return out
  }
  return walk(root, root, dir, 0) as Schema
}

/**
 * A validator for a plugin's options schema (built-ins: `schemaAt('plugins/NAME.schema.json')`;
 * third parties: their own object), compiled once per schema object. Defaults in the schema are
 * filled in. `dir` is the folder under schemas/ its file `$ref`s are relative to.
 */
const optionValidators = new WeakMap<object, ValidateFunction>()
export function getOptionsValidator(schema: object, dir = 'plugins'): ValidateFunction {
  let v = optionValidators.get(schema)
  if (!v) {
    const inlined = inlineRefs(schema as Schema, dir)
    delete inlined.$id
    v = getAjv().compile(inlined)
    optionValidators.set(schema, v)
  }
  return v
}

/**
 * The compiled validator for a kind. For chains, `extraStageProperties` (from plugins) are added
 * to the stage schema's `properties`; each distinct set is compiled once.
 */
export function getValidator(kind: ConfigKind, extraStageProperties?: Record<string, object>): ValidateFunction {
  const extra =
    kind === 'chain' && extraStageProperties && Object.keys(extraStageProperties).length > 0
      ? extraStageProperties
      : undefined
  const cacheKey = extra ? `${kind}+${stableKey(extra)}` : kind
  let v = validators.get(cacheKey)
  if (v) return v
  // internal $refs are inlined so that every error's schemaPath follows the document's shape
  // (this is what lets anyOf alternatives be grouped by path when their errors are collapsed)
  // defaults are for plugins' own validation of their options: in a file, a missing key stays missing
  const schema = inlineRefs(getSchema(kind), '', false)
  if (extra) {
    delete schema.$id // the variant must not clash with the base schema's id
    const stage = ((schema.properties as Record<string, Schema>).stages as Schema).additionalProperties as Schema
    const props = stage.properties as Record<string, unknown>
    for (const [key, sub] of Object.entries(extra)) {
      if (!/^[a-z][a-z0-9_-]{0,63}$/.test(key) || Object.hasOwn(props, key)) {
        throw new MiradorError(
          'PLUGIN_API',
          Object.hasOwn(props, key)
            ? `a plugin adds the stage key "${key}", which Mirador already defines. ` +
                'Pick another key name in the plugin.'
            : `a plugin adds the stage key ${JSON.stringify(key)}; stage keys are lowercase words (a-z, 0-9, _ and -).`,
          { details: { key } },
        )
      }
      if (!getAjv().validateSchema(sub)) {
        throw new MiradorError(
          'PLUGIN_API',
          `a plugin's schema for the stage key "${key}" is not a valid JSON Schema: ` +
            getAjv().errorsText(getAjv().errors),
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
        ? "a plugin's stage schema is not a valid JSON Schema: " +
            (cause instanceof Error ? cause.message : String(cause))
        : `the ${kind} schema does not compile: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    )
  }
  validators.set(cacheKey, v)
  return v
}
