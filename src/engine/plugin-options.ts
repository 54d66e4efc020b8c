/**
 * Plugins validate their own options once, with their own JSON Schema, as webpack's plugins do:
 * `constructor(options) { this.options = validatePluginOptions(PLUGIN_NAME, schema, options) }`.
 * Built-ins keep theirs in schemas/plugins/NAME.schema.json (`builtinOptionsSchema(NAME)`), the same
 * file mirador.config.yaml's `builtins:` is checked against, with positions; defaults come from it.
 */
import { MiradorError } from './errors.js'
import { getOptionsValidator, schemaAt } from './config/validate.js'

/** The options schema of a built-in plugin (schemas/plugins/NAME.schema.json). */
export function builtinOptionsSchema(name: string): Record<string, unknown> {
  return schemaAt(`plugins/${name}.schema.json`)
}

const defaultsOf = new WeakMap<object, Record<string, unknown> | null>()

/**
 * No options given: the schema's top-level defaults, without compiling it (most runs give built-ins
 * no options, and ajv is the costliest thing to load on the way to a first token). Null when the
 * schema requires something, so an empty object must go through validation to be refused.
 */
function defaultsFor(schema: object): Record<string, unknown> | null {
  let d = defaultsOf.get(schema)
  if (d === undefined) {
    const s = schema as { required?: unknown[]; properties?: Record<string, { default?: unknown }> }
    d = s.required?.length
      ? null
      : Object.fromEntries(
          Object.entries(s.properties ?? {}).flatMap(([k, p]) => (p.default === undefined ? [] : [[k, p.default]])),
        )
    defaultsOf.set(schema, d)
  }
  return d
}

export function validatePluginOptions<T>(plugin: string, schema: object, options: unknown): T {
  const empty = options === undefined || (isPlainObject(options) && Object.keys(options).length === 0)
  const defaults = empty ? defaultsFor(schema) : null
  if (defaults) return structuredClone(defaults) as T
  let validate
  try {
    validate = getOptionsValidator(schema)
  } catch (err) {
    throw new MiradorError(
      'PLUGIN_API',
      `plugin ${plugin}: its options schema is not a valid JSON Schema: ` +
        (err instanceof Error ? err.message : String(err)),
      { cause: err, details: { plugin } },
    )
  }
  const value = options === undefined ? {} : structuredClone(options)
  if (!validate(value)) {
    const problems = (validate.errors ?? [])
      .map((e) => {
        const where = e.instancePath ? `options${e.instancePath.replace(/\//g, '.')}` : 'options'
        const extra =
          e.keyword === 'additionalProperties'
            ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
            : ''
        return `${where} ${e.message ?? 'is invalid'}${extra}`
      })
      .join('; ')
    throw new MiradorError(
      'PLUGIN_OPTIONS',
      `plugin ${plugin}: ${problems}. Fix its entry under plugins: in mirador.config.yaml.`,
      { details: { plugin } },
    )
  }
  return value as T
}

/** The stage keys a built-in plugin adds to chain files (`definitions.stage_keys` of its schema). */
export function builtinStageKeys(name: string): Record<string, object> {
  const defs = builtinOptionsSchema(name).definitions as { stage_keys?: { properties?: Record<string, object> } }
  return { ...defs?.stage_keys?.properties }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype
}
