/**
 * One file's findings: parsed once, bindings collected in a first pass, then one walk over the
 * tree in which every rule looks at the nodes it handles. Findings are capped per file (a 5 MB
 * file of `eval(x)` must not make millions), sorted by position.
 */
import type { AnyNode } from 'acorn'
import { fullAncestor } from 'acorn-walk'
import type { Rule, RuleContext } from './context.js'
import { collectBindings } from './module-refs.js'
import { parseSource } from './parse.js'
import { locator } from './positions.js'
import { evalRule } from './rule-eval.js'
import { fsRule } from './rule-fs.js'
import { modulesRule } from './rule-modules.js'
import { networkRule } from './rule-network.js'
import { nodeGlobalsRule } from './rule-node-globals.js'
import { obfuscationRule } from './rule-obfuscation.js'
import { processRule } from './rule-process.js'
import { tamperRule } from './rule-tamper.js'
import { severityOf } from './rules.js'
import type { AnalyzeOptions, Finding } from './types.js'

export const DEFAULT_MAX_FINDINGS = 100

type Handler = (node: AnyNode, ctx: RuleContext, ancestors: import('acorn').Node[], walkType: string) => void

/** every rule's handlers, by node type */
const HANDLERS = new Map<string, Handler[]>()
for (const rule of [
  modulesRule,
  nodeGlobalsRule,
  fsRule,
  processRule,
  evalRule,
  tamperRule,
  networkRule,
  obfuscationRule,
] as Rule[])
  for (const [type, handler] of Object.entries(rule)) {
    HANDLERS.set(type, [...(HANDLERS.get(type) ?? []), handler as Handler])
  }

export function analyzeSource(file: string, text: string, options: AnalyzeOptions = {}): Finding[] {
  const profile = options.profile ?? 'plugin'
  const cap = options.maxFindingsPerFile ?? DEFAULT_MAX_FINDINGS
  const at = locator(text)
  const found: (Finding & { offset: number })[] = []
  let dropped = 0
  const report: RuleContext['report'] = (rule, offset, message, permission) => {
    if (found.length >= cap) {
      dropped++
      return
    }
    found.push({
      rule,
      severity: severityOf(rule, profile),
      file,
      ...at(offset),
      message,
      offset,
      ...(permission ? { permission } : {}),
    })
  }
  const parsed = parseSource(file, text)
  if (!parsed.ok) {
    report('parse-error', parsed.offset, `does not parse: ${parsed.message}`)
    return found.map(({ offset: _, ...f }) => f)
  }
  const ctx: RuleContext = { profile, bindings: collectBindings(parsed.ast), report, tally: new Map() }
  fullAncestor(parsed.ast, (node, _state, ancestors, walkType) => {
    const handlers = HANDLERS.get(node.type)
    if (handlers) for (const h of handlers) h(node as AnyNode, ctx, ancestors, walkType)
  })
  const out = found.sort((a, b) => a.offset - b.offset).map(({ offset: _, ...f }) => f)
  if (dropped > 0)
    out.push({
      rule: 'findings-capped',
      severity: severityOf('findings-capped', profile),
      file,
      line: 1,
      column: 1,
      message: `${dropped} more findings in this file are not listed (at most ${cap} per file)`,
    })
  return out
}
