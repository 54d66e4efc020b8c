/**
 * Code built from strings: eval (direct `eval(s)`, and indirect: `(0, eval)(s)`, `globalThis.eval`,
 * `const e = eval`), and function constructors: `new Function(s)`, `Function(s)`, and the
 * constructor reached from a function (`(() => {}).constructor(s)`, `x.constructor.constructor(s)`,
 * the classic way out of a sandbox to the host's Function).
 */
import type { AnyNode, CallExpression, NewExpression, Node } from 'acorn'
import { globalName, parentOf, propName, unwrap } from './ast.js'
import { isUse, type Rule, type RuleContext } from './context.js'

function evalUse(node: AnyNode, ctx: RuleContext, ancestors: Node[], walkType: string): void {
  if (globalName(node) !== 'eval' || !isUse(node, ancestors, walkType)) return
  if (node.type === 'Identifier' && ctx.bindings.names.has('eval')) return
  const parent = parentOf(ancestors)
  const called = (parent?.type === 'CallExpression' || parent?.type === 'NewExpression') && parent.callee === node
  ctx.report(
    'eval',
    node.start,
    called && node.type === 'Identifier'
      ? 'eval() runs a string as code'
      : 'indirect eval: runs a string as code in the global scope',
  )
}

const FUNCTION_LITERALS = new Set(['FunctionExpression', 'ArrowFunctionExpression', 'ClassExpression'])

function constructed(node: CallExpression | NewExpression, ctx: RuleContext): void {
  const callee = unwrap(node.callee as AnyNode)
  if (globalName(callee) === 'Function') {
    ctx.report('new-function', node.start, 'the Function constructor builds a function from a string')
    return
  }
  if (callee.type !== 'MemberExpression' || propName(callee) !== 'constructor') return
  const of = unwrap(callee.object as AnyNode)
  if (FUNCTION_LITERALS.has(of.type) || (of.type === 'MemberExpression' && propName(of) === 'constructor'))
    ctx.report('new-function', node.start, "a function's constructor builds a function from a string")
}

export const evalRule: Rule = {
  Identifier: evalUse,
  MemberExpression: evalUse,
  CallExpression: constructed,
  NewExpression: constructed,
}
