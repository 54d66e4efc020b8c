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

export function validatePluginOptions<T>(plugin: string, schema: object, options: unknown): T {
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
