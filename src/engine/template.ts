/**
 * Prompt templates: `{{query}}`, `{{stages.quick.output}}`, `{{memory}}` and any variable a plugin
 * adds. Deliberately tiny (no logic, no helpers): a template is data the user edits, and a missing
 * variable renders as empty rather than failing a run, since plugins that provide variables
 * (memory, …) can be turned off. A variable no plugin declares is reported as a TEMPLATE warning
 * (a `log` event in runs, a warning in `chain validate`): it is a typo or a plugin not loaded.
 */
const TAG = /\{\{\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s*\}\}/g

/** The dotted names a template uses, in order of appearance. */
export function templateVars(template: string): string[] {
  return [...template.matchAll(TAG)].map((m) => m[1]!)
}

/** Stage names a template reads through `{{stages.NAME.…}}`. */
export function stageRefs(template: string): string[] {
  const refs = new Set<string>()
  for (const v of templateVars(template)) {
    const parts = v.split('.')
    if (parts[0] === 'stages' && parts[1]) refs.add(parts[1])
  }
  return [...refs]
}

/** Variables every template has, whatever plugins run: the query and the stages' results. */
export const CORE_TEMPLATE_VARS: readonly string[] = ['query', 'stages']

/**
 * The variables of a template that nothing will fill: absent from `vars` and not declared by any
 * plugin (`engine.registerTemplateVars`). A declared variable may still be empty (memory off for
 * this run); an undeclared one is a typo or a plugin that is not loaded.
 */
export function unknownVars(template: string, vars: Record<string, unknown>, declared: ReadonlySet<string>): string[] {
  return [
    ...new Set(
      templateVars(template).filter((v) => {
        const top = v.split('.')[0]!
        return !declared.has(top) && !CORE_TEMPLATE_VARS.includes(top) && lookup(vars, v) === undefined
      }),
    ),
  ]
}

function lookup(vars: Record<string, unknown>, dotted: string): unknown {
  let cur: unknown = vars
  for (const key of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, key)) return undefined
    cur = (cur as Record<string, unknown>)[key]
  }
  return cur
}

export function renderTemplate(template: string, vars: Record<string, unknown>): string {
  return template.replace(TAG, (_, name: string) => {
    const v = lookup(vars, name)
    if (v === undefined || v === null) return ''
    return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v)
  })
}

/** The warning for a stage whose template names variables nothing fills (a `log` event). */
export function unknownVarsWarning(
  stage: string,
  names: string[],
): {
  type: 'log'
  level: 'warn'
  code: 'TEMPLATE'
  stage: string
  message: string
} {
  const list = names.map((n) => `{{${n}}}`).join(', ')
  return {
    type: 'log',
    level: 'warn',
    code: 'TEMPLATE',
    stage,
    message:
      `stage "${stage}": ${list} ${names.length > 1 ? 'are' : 'is'} filled by no plugin, ` +
      `so ${names.length > 1 ? 'they render' : 'it renders'} empty. ` +
      'Check the spelling, or load the plugin that provides it (mirador.config.yaml plugins:).',
  }
}
