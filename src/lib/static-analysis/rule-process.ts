/**
 * `process`: its doors to Node's internals and native code (binding, _linkedBinding, dlopen),
 * which no permission grants, and reads of the environment, by name where the name is written
 * literally (`process.env.HOME`, `process.env['HOME']`, `const { HOME } = process.env`).
 */
import type { AnyNode, Node, Pattern } from 'acorn'
import { propName, parentOf, staticString, unwrap } from './ast.js'
import { isUse, type Rule, type RuleContext } from './context.js'
import { refOf } from './module-refs.js'

const INTERNALS = new Set(['binding', '_linkedBinding', 'dlopen'])

function destructured(target: Pattern): (string | undefined)[] | undefined {
  if (target.type !== 'ObjectPattern') return undefined
  return target.properties.map((p) =>
    p.type === 'RestElement'
      ? undefined
      : p.computed
        ? staticString(p.key as AnyNode)
        : p.key.type === 'Identifier'
          ? p.key.name
          : staticString(p.key),
  )
}

function envRead(node: AnyNode, ctx: RuleContext, ancestors: Node[]): void {
  const parent = parentOf(ancestors)
  let names: (string | undefined)[] | undefined
  if (parent?.type === 'MemberExpression' && unwrap(parent.object as AnyNode) === node) names = [propName(parent)]
  else if (parent?.type === 'VariableDeclarator' && parent.init === node) names = destructured(parent.id)
  else if (parent?.type === 'AssignmentExpression' && parent.right === node)
    names = destructured(parent.left as Pattern)
  if (!names) {
    ctx.report('env', node.start, 'reads the whole environment (process.env)', { kind: 'env' })
    return
  }
  for (const name of names)
    ctx.report(
      'env',
      node.start,
      name === undefined
        ? 'reads an environment variable whose name is computed at run time'
        : `reads the environment variable ${name}`,
      name === undefined ? { kind: 'env' } : { kind: 'env', name },
    )
}

function check(node: AnyNode, ctx: RuleContext, ancestors: Node[], walkType: string): void {
  const ref = refOf(node, ctx.bindings)
  if (ref?.module !== 'process' || ref.path.length !== 1) return
  const [name] = ref.path as [string]
  if (INTERNALS.has(name))
    ctx.report('process-binding', node.start, `process.${name}: reaches Node's internals or loads native code`)
  else if (name === 'env' && isUse(node, ancestors, walkType)) envRead(node, ctx, ancestors)
}

export const processRule: Rule = {
  MemberExpression: check,
  Identifier: check,
}
