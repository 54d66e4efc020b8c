/** What every rule gets while the file is walked, and the shape of a rule. */
import type { AnyNode, Node } from 'acorn'
import type { Bindings } from './module-refs.js'
import type { Permission, Profile, RuleId } from './types.js'

export interface RuleContext {
  profile: Profile
  bindings: Bindings
  /** records a finding at a character offset; the severity comes from the rule and the profile */
  report(rule: RuleId, offset: number, message: string, permission?: Permission): void
  /** per-file tallies for rules that judge a file as a whole (String.fromCharCode calls, _0x names) */
  tally: Map<string, { count: number; first: number }>
}

/**
 * A rule: handlers by node type. `ancestors` ends with the node itself; `walkType` is acorn-walk's
 * name for the node's position ('VariablePattern' for an identifier being bound or assigned).
 */
export type Rule = {
  [T in AnyNode['type']]?: (
    node: Extract<AnyNode, { type: T }>,
    ctx: RuleContext,
    ancestors: Node[],
    walkType: string,
  ) => void
}

/**
 * An identifier or member used as a value: not bound, not assigned to (`fetch = …`,
 * `globalThis.fetch = …`), not updated or deleted. acorn-walk names a bound identifier
 * 'VariablePattern' but walks an assigned member as a plain MemberExpression, hence the parent.
 */
export function isUse(node: Node, ancestors: Node[], walkType: string): boolean {
  if (walkType === 'VariablePattern') return false
  const parent = ancestors[ancestors.length - 2] as AnyNode | undefined
  if (parent?.type === 'AssignmentExpression') return parent.left !== node
  if (parent?.type === 'UpdateExpression') return false
  return !(parent?.type === 'UnaryExpression' && parent.operator === 'delete')
}
