/**
 * What an expression refers to, in terms of Node's modules: `fs`, `require('fs').promises`,
 * `(await import('node:fs')).writeFile`, a name imported or destructured from them, `process` and
 * what hangs off it. Found by name over the whole file (not by scope): a plugin that hides a
 * module behind a local of the same name as an unrelated one is still caught, at the price of
 * rare extra findings. Also recognises every form that loads a module: import, export … from,
 * import(), require() and its aliases (createRequire, module.require, process.mainModule.require,
 * require.main.require) and process.getBuiltinModule.
 */
import type { AnyNode, Node, Pattern, Program } from 'acorn'
import { simple, type SimpleVisitors } from 'acorn-walk'
import { memberPath, propName, staticString, unwrap } from './ast.js'

/** A module (without `node:`) and the path of properties taken from it. */
export interface ModuleRef {
  module: string
  path: string[]
}

export interface Bindings {
  /** local name → what it holds */
  names: Map<string, ModuleRef>
  /** local names of require functions (`require` itself, createRequire's results, aliases) */
  requires: Set<string>
  /** every name the file binds (variables, functions, classes, parameters) */
  declared: Set<string>
}

/** How code loaded a module, with the module's name when it is written literally. */
export interface ModuleLoad {
  via: string
  spec?: string
  /** the argument (the name expression) of a call form */
  argument?: AnyNode
}

export const moduleName = (spec: string) => spec.replace(/^node:/, '')
/** `fs/promises` → `fs`; `node:http2` → `http2` */
export const moduleBase = (spec: string) => moduleName(spec).split('/')[0]!

/** A call (or import()) that loads a module, or undefined. */
export function moduleLoad(node: AnyNode, b: Bindings): ModuleLoad | undefined {
  if (node.type === 'ImportExpression') return withArgument('import()', node.source as AnyNode)
  if (node.type !== 'CallExpression') return undefined
  const arg = node.arguments[0] as AnyNode | undefined
  const callee = unwrap(node.callee as AnyNode)
  if (callee.type === 'Identifier' && (callee.name === 'require' || b.requires.has(callee.name)))
    return withArgument(callee.name === 'require' ? 'require()' : `${callee.name}() (a require)`, arg)
  if (callee.type === 'CallExpression' && isCreateRequire(callee, b)) return withArgument('createRequire()()', arg)
  if (callee.type !== 'MemberExpression') return undefined
  const ref = refOf(callee, b)
  if (ref?.module === 'process' && ref.path.join('.') === 'getBuiltinModule')
    return withArgument('process.getBuiltinModule()', arg)
  if (ref?.module === 'process' && ref.path.join('.') === 'mainModule.require')
    return withArgument('process.mainModule.require()', arg)
  const { root, path } = memberPath(callee)
  if (root.type === 'Identifier' && !b.names.has(root.name)) {
    const p = path.join('.')
    if (root.name === 'module' && p === 'require') return withArgument('module.require()', arg)
    if (root.name === 'require' && p === 'main.require') return withArgument('require.main.require()', arg)
  }
  return undefined
}

function withArgument(via: string, arg: AnyNode | undefined): ModuleLoad {
  const spec = staticString(arg)
  return spec === undefined ? { via, ...(arg ? { argument: arg } : {}) } : { via, spec }
}

function isCreateRequire(call: AnyNode, b: Bindings): boolean {
  if (call.type !== 'CallExpression') return false
  const ref = refOf(call.callee as AnyNode, b)
  return ref?.module === 'module' && ref.path.join('.') === 'createRequire'
}

/** What `node` refers to, if it comes from a Node module (or is `process`). */
export function refOf(node: AnyNode, b: Bindings): ModuleRef | undefined {
  const n = unwrap(node)
  switch (n.type) {
    case 'Identifier':
      return b.names.get(n.name) ?? (n.name === 'process' ? { module: 'process', path: [] } : undefined)
    case 'AwaitExpression':
      return refOf(n.argument as AnyNode, b)
    case 'MemberExpression': {
      const name = propName(n)
      if (name === undefined) return undefined
      const o = unwrap(n.object as AnyNode)
      if (o.type === 'Identifier' && name === 'process' && ['globalThis', 'global'].includes(o.name))
        return { module: 'process', path: [] }
      const base = refOf(o, b)
      // `fs.default` is `fs`: what a CommonJS module looks like through import()
      return base && { module: base.module, path: name === 'default' ? base.path : [...base.path, name] }
    }
    case 'CallExpression':
    case 'ImportExpression': {
      const load = moduleLoad(n, b)
      return load?.spec === undefined ? undefined : { module: moduleName(load.spec), path: [] }
    }
    default:
      return undefined
  }
}

/** Binds the names of `target` (an identifier or a destructuring) to what `init` holds. */
function bind(target: Pattern | AnyNode, init: AnyNode, b: Bindings): void {
  const value = unwrap(init)
  if (target.type === 'Identifier') {
    if ((value.type === 'Identifier' && b.requires.has(value.name)) || isCreateRequire(value, b)) {
      b.requires.add(target.name)
      return
    }
    if (value.type === 'Identifier' && value.name === 'require') {
      b.requires.add(target.name)
      return
    }
  }
  const ref = refOf(value, b)
  if (!ref) return
  if (target.type === 'Identifier') b.names.set(target.name, ref)
  else if (target.type === 'ObjectPattern')
    for (const p of target.properties) {
      if (p.type !== 'Property') continue
      const key = p.computed
        ? staticString(p.key as AnyNode)
        : p.key.type === 'Identifier'
          ? p.key.name
          : staticString(p.key)
      const local = p.value.type === 'AssignmentPattern' ? p.value.left : p.value
      if (key !== undefined && local.type === 'Identifier')
        b.names.set(local.name, { module: ref.module, path: key === 'default' ? ref.path : [...ref.path, key] })
    }
}

/** First pass: the names bound to modules and to require functions, in source order. */
export function collectBindings(ast: Program): Bindings {
  const b: Bindings = { names: new Map(), requires: new Set(['require']), declared: new Set() }
  // acorn-walk visits a bound identifier under the name VariablePattern, which its types leave out
  const visitors: SimpleVisitors<unknown> & { VariablePattern: (node: Node) => void } = {
    VariablePattern(node) {
      if (node.type === 'Identifier') b.declared.add((node as AnyNode & { name: string }).name)
    },
    ImportDeclaration(node) {
      const module = moduleName(String(node.source.value))
      for (const s of node.specifiers) {
        if (s.type !== 'ImportSpecifier') b.names.set(s.local.name, { module, path: [] })
        else {
          const imported = s.imported.type === 'Identifier' ? s.imported.name : String(s.imported.value)
          b.names.set(s.local.name, { module, path: imported === 'default' ? [] : [imported] })
        }
      }
    },
    VariableDeclarator(node) {
      if (node.init) bind(node.id, node.init as AnyNode, b)
    },
    AssignmentExpression(node) {
      if (node.operator === '=') bind(node.left as Node as AnyNode, node.right as AnyNode, b)
    },
  }
  simple(ast, visitors)
  return b
}
