/**
 * The network through web APIs, without any import: fetch, WebSocket, EventSource,
 * XMLHttpRequest, used directly or through the global object, with the host where the URL is
 * written literally (or begins literally: `https://host/${path}`).
 */
import type { AnyNode, Node } from 'acorn'
import { globalName, parentOf } from './ast.js'
import { isUse, type Rule, type RuleContext } from './context.js'

const NETWORK = new Set(['fetch', 'WebSocket', 'EventSource', 'XMLHttpRequest'])

/** The literal beginning of a string argument, and whether that is all of it. */
function literalStart(arg: AnyNode | undefined): { text: string; whole: boolean } | undefined {
  if (arg?.type === 'Literal' && typeof arg.value === 'string') return { text: arg.value, whole: true }
  if (arg?.type === 'TemplateLiteral') {
    const text = arg.quasis[0]?.value.cooked
    return text === undefined || text === null ? undefined : { text, whole: arg.expressions.length === 0 }
  }
  if (arg?.type === 'BinaryExpression' && arg.operator === '+') {
    const left = literalStart(arg.left as AnyNode)
    return left && { text: left.text, whole: false }
  }
  return undefined
}

/** The host (with its port) of a URL argument known, at least up to its path, before run time. */
export function literalHost(arg: AnyNode | undefined): string | undefined {
  const start = literalStart(arg)
  if (!start) return undefined
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)([/?#])?/i.exec(start.text)
  // in `https://${sub}.example.com/` the host is not known: the literal part must end after it
  if (!m?.[1] || (!start.whole && !m[2])) return undefined
  return m[1].replace(/^.*@/, '').toLowerCase()
}

function use(node: AnyNode, ctx: RuleContext, ancestors: Node[], walkType: string): void {
  const name = globalName(node)
  if (name === undefined || !NETWORK.has(name) || !isUse(node, ancestors, walkType)) return
  const parent = parentOf(ancestors)
  const called = (parent?.type === 'CallExpression' || parent?.type === 'NewExpression') && parent.callee === node
  const host = called ? literalHost(parent.arguments[0] as AnyNode | undefined) : undefined
  const how = !called ? name : parent.type === 'NewExpression' ? `new ${name}()` : `${name}()`
  ctx.report(
    'network',
    node.start,
    `${how}: network access${host ? ` to ${host}` : ''}`,
    host ? { kind: 'network', host } : { kind: 'network' },
  )
}

export const networkRule: Rule = {
  Identifier: use,
  MemberExpression: use,
}
