/**
 * Every regular expression a JSON Schema carries (`pattern` values and `patternProperties` keys),
 * with the path to it, so that one RE2 cannot compile is reported at the line that holds it. Only
 * schema positions are followed: a `pattern` key inside `default`, `const`, `enum` or `examples`
 * is data, not a regular expression.
 */
export interface SchemaPattern {
  /** path from the schema's root to the `pattern` value, or to the `patternProperties` key */
  path: (string | number)[]
  pattern: string
  /** the pattern is a key of `patternProperties` (point at the key, not its value) */
  isKey: boolean
}

const ONE = [
  'additionalProperties',
  'additionalItems',
  'items',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'unevaluatedItems',
  'unevaluatedProperties',
]
const MAP = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas', 'dependencies']
const LIST = ['allOf', 'anyOf', 'oneOf', 'items', 'prefixItems']

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

export function schemaPatterns(schema: unknown, path: (string | number)[] = []): SchemaPattern[] {
  if (!isObject(schema)) return []
  const out: SchemaPattern[] = []
  if (typeof schema.pattern === 'string')
    out.push({ path: [...path, 'pattern'], pattern: schema.pattern, isKey: false })
  if (isObject(schema.patternProperties))
    for (const key of Object.keys(schema.patternProperties))
      out.push({ path: [...path, 'patternProperties', key], pattern: key, isKey: true })
  for (const k of ONE) out.push(...schemaPatterns(schema[k], [...path, k]))
  for (const k of MAP) {
    const map = schema[k]
    if (isObject(map))
      for (const [name, sub] of Object.entries(map)) out.push(...schemaPatterns(sub, [...path, k, name]))
  }
  for (const k of LIST) {
    const list = schema[k]
    if (Array.isArray(list)) list.forEach((sub, i) => out.push(...schemaPatterns(sub, [...path, k, i])))
  }
  return out
}
