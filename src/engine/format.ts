/**
 * Structured output (a stage's `format:`): the JSON Schema a chain gives is checked when the chain
 * loads, and a stage's answer is parsed and validated after it ends. Runtimes only see
 * GenerateRequest.format; what they do with it (Ollama's `format`, a llama.cpp grammar) is theirs.
 *
 * User schemas get their own Ajv instance: Mirador's (config/validate.ts) carries its own keywords
 * and formats, which a chain's schema must not see. Validators are compiled once per distinct
 * schema per process, so loading a chain compiles them and its runs reuse them.
 */
import { createRequire } from 'node:module'
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv'
import type { Stage } from './config/types.gen.js'
import { MiradorError } from './errors.js'
import { jsonSyntaxError } from './json-position.js'
import { stableKey } from './stable-key.js'

export type StageFormat = NonNullable<Stage['format']>

let ajv: Ajv | undefined
const validators = new Map<string, ValidateFunction>()

function getAjv(): Ajv {
  if (!ajv) {
    const { Ajv: AjvClass } = createRequire(import.meta.url)('ajv') as typeof import('ajv')
    // strict: a misspelt keyword is an error at load, not a constraint silently ignored;
    // `format` values (email, date…) are not checked: Ajv knows none without ajv-formats
    ajv = new AjvClass({ allErrors: true, strict: true, strictTypes: false, validateFormats: false })
  }
  return ajv
}

/** A problem in a stage's schema, with its path below the schema. */
export interface SchemaProblem {
  path: (string | number)[]
  message: string
}

function pointerPath(pointer: string): (string | number)[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')))
}

/** What is wrong with a schema (empty when it compiles); the compiled validator is kept. */
export function schemaProblems(schema: Record<string, unknown>): SchemaProblem[] {
  const key = stableKey(schema)
  if (validators.has(key)) return []
  const a = getAjv()
  let valid: boolean
  try {
    valid = a.validateSchema(schema) as boolean
  } catch (cause) {
    // a `$schema` Ajv does not know (draft 2019-09, 2020-12): it cannot check it
    return [{ path: ['$schema'], message: `uses a draft Mirador does not know: ${(cause as Error).message}` }]
  }
  if (!valid) {
    return (a.errors ?? []).map((e) => ({
      path: pointerPath(e.instancePath),
      message: `is not a valid JSON Schema: ${e.instancePath || 'the schema'} ${e.message ?? 'is invalid'}`,
    }))
  }
  try {
    validators.set(key, a.compile(schema))
    return []
  } catch (cause) {
    return [{ path: [], message: `does not compile: ${cause instanceof Error ? cause.message : String(cause)}` }]
  }
}

/** What the runtime is asked for: 'json', or the schema its output must match. */
export function requestFormat(format: StageFormat): 'json' | Record<string, unknown> {
  return format === 'json' ? 'json' : format.schema
}

/** Line and column (1-based) of a character offset in a text. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const lines = before.split('\n')
  return { line: lines.length, column: lines[lines.length - 1]!.length + 1 }
}

function describe(e: ErrorObject): string {
  const where = e.instancePath || '/'
  if (e.keyword === 'required') return `at ${where}: missing property "${String(e.params.missingProperty)}"`
  if (e.keyword === 'additionalProperties')
    return `at ${where}: unexpected property "${String(e.params.additionalProperty)}"`
  return `at ${where}: ${e.message ?? 'does not match'}`
}

/**
 * The parsed value of a stage's answer. Throws STAGE_FORMAT with the position: line and column in
 * the answer when it is not JSON, the JSON pointer and what was expected when it fails the schema.
 */
export function parseOutput(stage: string, format: StageFormat, output: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(output)
  } catch (cause) {
    const syntax = jsonSyntaxError(output) ?? { offset: output.length, message: 'not JSON' }
    const { line, column } = lineColumn(output, syntax.offset)
    throw new MiradorError(
      'STAGE_FORMAT',
      `stage "${stage}" answered with text that is not JSON (${syntax.message}, at line ${line}, column ${column} ` +
        'of its answer). Give it more max_tokens if it was cut off, or a model that follows the format.',
      { cause, details: { stage, line, column } },
    )
  }
  if (format === 'json') return value
  // a chain loads with its schemas checked; a plan tap may still have given a stage a new one
  const problem = schemaProblems(format.schema)[0]
  if (problem) throw new MiradorError('CONFIG_INVALID', `stage "${stage}": format schema ${problem.message}`)
  const validate = validators.get(stableKey(format.schema))!
  if (!validate(value)) {
    const errors = validate.errors ?? []
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : ''
    throw new MiradorError(
      'STAGE_FORMAT',
      `stage "${stage}" answered with JSON that does not match its format schema: ${describe(errors[0]!)}${more}. ` +
        "Say in the prompt what the answer must hold, or loosen the stage's format schema.",
      { details: { stage, pointer: errors[0]?.instancePath ?? '', errors: errors.map(describe) } },
    )
  }
  return value
}

/** Problems of every stage's format in a chain, with their paths in the chain file. */
export function formatProblems(stages: Record<string, Stage>): SchemaProblem[] {
  const out: SchemaProblem[] = []
  for (const [name, stage] of Object.entries(stages)) {
    const f = stage.format
    if (!f || f === 'json') continue
    for (const p of schemaProblems(f.schema))
      out.push({
        path: ['stages', name, 'format', 'schema', ...p.path],
        message: `stage "${name}": format schema ${p.message}`,
      })
  }
  return out
}
