/**
 * Changes to built-ins every plugin shares with Mirador in one process: assigning, updating or
 * deleting anything on `Object.prototype`, `Array.prototype`, `JSON`, `Promise`, … ; replacing
 * `fetch`, `console`, `JSON` through the global object or by bare assignment; defining, assigning
 * or re-prototyping them through Object.defineProperty / assign / setPrototypeOf and Reflect; and
 * prototype pollution through `__proto__` or `constructor.prototype`. (A user's own class
 * `Foo.prototype.bar = …` is left alone.)
 */
import type { AnyNode, Node } from 'acorn'
import { GLOBAL_OBJECTS, memberPath, staticString, unwrap } from './ast.js'
import type { Rule, RuleContext } from './context.js'

const BUILTINS = [
  'Object',
  'Array',
  'Function',
  'String',
  'Number',
  'Boolean',
  'Symbol',
  'BigInt',
  'Promise',
  'RegExp',
  'Date',
  'Error',
  'Map',
  'Set',
  'WeakMap',
  'WeakSet',
  'JSON',
  'Math',
  'Reflect',
  'Proxy',
  'Intl',
  'ArrayBuffer',
  'DataView',
  'Uint8Array',
  'Buffer',
  'URL',
  'URLSearchParams',
  'TextEncoder',
  'TextDecoder',
  'EventTarget',
  'AbortController',
  'Headers',
  'Request',
  'Response',
  'WebSocket',
  'fetch',
  'console',
  'structuredClone',
  'queueMicrotask',
  'setTimeout',
  'setInterval',
  'setImmediate',
]
const SHARED: ReadonlySet<string> = new Set(BUILTINS)
/** set by ordinary libraries to tune the built-in, not to take it over */
const TUNING: ReadonlySet<string> = new Set(['Error.stackTraceLimit'])

interface Target {
  /** as written: `globalThis.fetch`, `Object.prototype.x`, `(…).__proto__.y` */
  written: string
  /** the global object itself (`globalThis`): what matters is which property is set on it */
  global: boolean
  /** reached through __proto__ or constructor.prototype rather than by a built-in's name */
  pollution: boolean
}

/** The shared built-in that changing `node` would change, or undefined. */
function sharedTarget(node: AnyNode): Target | undefined {
  const { root, path } = memberPath(node)
  const segs = path.map((s) => s ?? '[…]')
  const rootName = root.type === 'Identifier' ? root.name : undefined
  const written = [rootName ?? '(…)', ...segs].join('.')
  if (rootName !== undefined) {
    const global = GLOBAL_OBJECTS.has(rootName)
    if (global && segs.length === 0) return { written, global: true, pollution: false }
    const builtin = global ? segs : [rootName, ...segs]
    if (SHARED.has(builtin[0]!) && !TUNING.has(builtin.join('.'))) return { written, global: false, pollution: false }
  }
  // prototype pollution, whatever the object: x.__proto__.y, x.constructor.prototype.y
  // (not x.__proto__ = p, which changes x's own prototype)
  const last = segs.length - 1
  const pollution =
    segs.some((s, i) => i < last && s === '__proto__') ||
    segs.some((s, i) => i < last - 1 && s === 'constructor' && segs[i + 1] === 'prototype')
  return pollution ? { written, global: false, pollution } : undefined
}

const SHARED_WITH = 'a built-in shared with Mirador and every plugin'
const describe = (t: Target) =>
  t.pollution ? `${t.written}: prototype pollution (a prototype every object shares)` : `${t.written}, ${SHARED_WITH}`

function changed(target: AnyNode, at: Node, verb: string, ctx: RuleContext): void {
  const t = sharedTarget(unwrap(target))
  if (t && !t.global) ctx.report('tamper', at.start, `${verb} ${describe(t)}`)
}

const DEFINERS = new Set([
  'Object.defineProperty',
  'Object.defineProperties',
  'Object.assign',
  'Object.setPrototypeOf',
  'Reflect.set',
  'Reflect.defineProperty',
  'Reflect.deleteProperty',
  'Reflect.setPrototypeOf',
])
const GETTER_SETTERS = new Set(['__defineGetter__', '__defineSetter__'])

/** the names an Object.assign / defineProperties source object sets */
function keysOf(node: AnyNode | undefined): string[] {
  if (node?.type !== 'ObjectExpression') return []
  return node.properties.flatMap((p) =>
    p.type === 'Property'
      ? [p.key.type === 'Identifier' && !p.computed ? p.key.name : (staticString(p.key) ?? '')]
      : [],
  )
}

export const tamperRule: Rule = {
  AssignmentExpression: (node, ctx) => changed(node.left as AnyNode, node, 'assigns to', ctx),
  UpdateExpression: (node, ctx) => changed(node.argument as AnyNode, node, 'updates', ctx),
  UnaryExpression(node, ctx) {
    if (node.operator === 'delete') changed(node.argument as AnyNode, node, 'deletes', ctx)
  },
  CallExpression(node, ctx) {
    const callee = memberPath(node.callee as AnyNode)
    const args = node.arguments as AnyNode[]
    if (callee.root.type !== 'Identifier') return
    const name = [callee.root.name, ...callee.path].join('.')
    // Object.prototype.__defineGetter__('x', f) and the like
    if (GETTER_SETTERS.has(callee.path.at(-1) ?? '') && node.callee.type === 'MemberExpression') {
      changed(node.callee.object as AnyNode, node, 'defines a property on', ctx)
      return
    }
    if (!DEFINERS.has(name) || !args[0]) return
    const target = sharedTarget(unwrap(args[0]))
    if (target === undefined) return
    if (!target.global) {
      ctx.report('tamper', node.start, `${name} changes ${describe(target)}`)
      return
    }
    // on the global object: only what replaces a shared built-in
    if (name.endsWith('setPrototypeOf')) {
      ctx.report('tamper', node.start, `${name} replaces the prototype of ${target.written}`)
      return
    }
    const names =
      name.endsWith('defineProperties') || name === 'Object.assign' ? keysOf(args[1]) : [staticString(args[1])]
    const hit = names.find((n) => n !== undefined && SHARED.has(n))
    if (hit !== undefined) ctx.report('tamper', node.start, `${name} replaces ${target.written}.${hit}, ${SHARED_WITH}`)
  },
}
