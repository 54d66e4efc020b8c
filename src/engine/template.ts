/**
 * Prompt templates: `{{query}}`, `{{stages.quick.output}}`, `{{memory}}` and any variable a plugin
 * adds. Deliberately tiny (no logic, no helpers): a template is data the user edits, and a missing
 * variable renders as empty rather than failing a run, since plugins that provide variables
 * (memory, …) can be turned off.
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
