/** Small questions asked of acorn's nodes by several rules. */
import type { AnyNode, MemberExpression, Node } from 'acorn'

/** The global object under its usual names: `globalThis.fetch` is `fetch`. */
export const GLOBAL_OBJECTS: ReadonlySet<string> = new Set(['globalThis', 'global', 'window', 'self'])

/** A string known before the code runs: a string literal, or a template with no `${}`. */
export function staticString(node: AnyNode | Node | null | undefined): string | undefined {
  const n = node as AnyNode | null | undefined
  if (n?.type === 'Literal' && typeof n.value === 'string') return n.value
  if (n?.type === 'TemplateLiteral' && n.expressions.length === 0) return n.quasis[0]?.value.cooked ?? undefined
  return undefined
}

/** `a.b` and `a['b']` → 'b'; a computed property not known before run time → undefined. */
export function propName(m: MemberExpression): string | undefined {
  if (!m.computed && m.property.type === 'Identifier') return m.property.name
  return staticString(m.property)
}

/** Parentheses and optional chains (`a?.b`) do not change what an expression refers to. */
export function unwrap(node: AnyNode): AnyNode {
  let n = node
  while (n.type === 'ChainExpression' || n.type === 'ParenthesizedExpression') n = n.expression as AnyNode
  return n
}

/** `fetch` or `globalThis.fetch` (global, window, self) → 'fetch'; anything else → undefined. */
export function globalName(node: AnyNode): string | undefined {
  const n = unwrap(node)
  if (n.type === 'Identifier') return n.name
  if (n.type === 'MemberExpression') {
    const o = unwrap(n.object as AnyNode)
    if (o.type === 'Identifier' && GLOBAL_OBJECTS.has(o.name)) return propName(n)
  }
  return undefined
}

/**
 * A member chain from its root: `a.b['c']` → { root: a, path: ['b', 'c'] }; a computed segment
 * not known before run time is undefined. The root is whatever the chain starts from.
 */
export function memberPath(node: AnyNode): { root: AnyNode; path: (string | undefined)[] } {
  const path: (string | undefined)[] = []
  let n = unwrap(node)
  while (n.type === 'MemberExpression') {
    path.unshift(propName(n))
    n = unwrap(n.object as AnyNode)
  }
  return { root: n, path }
}

/** The node's parent in a fullAncestor walk (the node itself is the last ancestor). */
export function parentOf(ancestors: Node[]): AnyNode | undefined {
  return ancestors[ancestors.length - 2] as AnyNode | undefined
}
