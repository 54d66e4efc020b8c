/**
 * Plugins validate their own options once, with their own JSON Schema, as webpack's plugins do:
 * `constructor(options) { this.options = validatePluginOptions(PLUGIN_NAME, schema, options) }`.
 */
import { Ajv, type ValidateFunction } from 'ajv'
import { MiradorError } from './errors.js'

let ajv: Ajv | undefined
const compiled = new WeakMap<object, ValidateFunction>()

export function validatePluginOptions<T>(plugin: string, schema: object, options: unknown): T {
  ajv ??= new Ajv({ allErrors: true, useDefaults: true, strict: false })
  let validate = compiled.get(schema)
  if (!validate) {
    validate = ajv.compile(schema)
    compiled.set(schema, validate)
  }
  const value = options === undefined ? {} : structuredClone(options)
  if (!validate(value)) {
    const problems = (validate.errors ?? [])
      .map(
        (e) =>
          `${e.instancePath ? `options${e.instancePath.replace(/\//g, '.')}` : 'options'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ''}`,
      )
      .join('; ')
    throw new MiradorError(
      'PLUGIN_OPTIONS',
      `plugin ${plugin}: ${problems}. Fix its entry under plugins: in mirador.config.yaml.`,
      { details: { plugin } },
    )
  }
  return value as T
}
