/**
 * ajv errors → MiradorErrors (CONFIG_INVALID): collapses ajv's cascades (propertyNames, anyOf and
 * oneOf alternatives, if/then) into one message each, locates them in the file and sorts them.
 * Split from validate.ts (which compiles the schemas); the wording of a single error is in
 * schema-error-message.ts.
 */
import type { ErrorObject } from 'ajv'
import { MiradorError } from '../errors.js'
import { describeBadKey, describeError, pointerToPath, type Problem } from './schema-error-message.js'
import { LIMITS } from './limits.js'
import { locate } from './locate.js'
import { describeValue, formatPath, hintOf, lastKey, prefix, typeWords } from './message-words.js'
import type { Loaded, Schema } from './types.js'

function isUnder(e: ErrorObject, parent: ErrorObject): boolean {
  return e.schemaPath.startsWith(`${parent.schemaPath}/`) && e.instancePath.startsWith(parent.instancePath)
}

/** One Problem for an anyOf/oneOf error as a whole: `text` about the value it points at. */
function alternativesProblem(alt: ErrorObject, root: unknown, text: string): Problem {
  const path = pointerToPath(alt.instancePath, root)
  return {
    path,
    target: 'value',
    key: lastKey(path),
    schemaPath: alt.schemaPath,
    keyword: alt.keyword,
    message: `${prefix(path)}${text}`,
  }
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
      problems.push(alternativesProblem(alt, root, 'matches more than one accepted form; make it unambiguous.'))
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
        (e) =>
          e.instancePath !== alt.instancePath ||
          ['required', 'additionalProperties', 'propertyNames'].includes(e.keyword),
      ) ?? false
    if (chosen && structural) {
      problems.push(
        ...collapse(
          chosen.filter((e) => branchErrors.includes(e)),
          root,
        ),
      )
    } else {
      const ps = (alt.parentSchema ?? {}) as Schema
      const hint = hintOf(ps)
      const forms = hint ?? typeWords(((ps[alt.keyword] as Schema[] | undefined) ?? []).map((s) => s.type ?? 'value'))
      problems.push(alternativesProblem(alt, root, `must be ${forms} (got ${describeValue(alt.data)}).`))
    }
  }

  // a value outside an enum is also often of the wrong type: the enum message says more
  const listed = new Set(
    errors
      .filter((e) => (e.keyword === 'enum' || e.keyword === 'const') && !consumed.has(e))
      .map((e) => e.instancePath),
  )
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
