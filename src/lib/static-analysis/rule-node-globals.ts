/**
 * For tools only: Node's own globals (process, require, module, Buffer, timers, __dirname…) do
 * not exist in the sandbox's isolate, so a tool using one fails when it runs. Uses another rule
 * already reports (a require() call, process.env, process.binding …) are not repeated, and a name
 * the file declares itself is its own.
 */
import { parentOf, propName } from './ast.js'
import type { Rule } from './context.js'

const NODE_GLOBALS = new Set([
  'process',
  'require',
  'module',
  'exports',
  'Buffer',
  '__dirname',
  '__filename',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'clearImmediate',
])
/** process.X that the process and module rules report */
const PROCESS_REPORTED = new Set(['env', 'binding', '_linkedBinding', 'dlopen', 'getBuiltinModule', 'mainModule'])

export const nodeGlobalsRule: Rule = {
  Identifier(node, ctx, ancestors, walkType) {
    const name = node.name
    if (ctx.profile !== 'tool' || !NODE_GLOBALS.has(name) || walkType === 'VariablePattern') return
    if (ctx.bindings.declared.has(name) || ctx.bindings.names.has(name)) return
    const parent = parentOf(ancestors)
    const member = parent?.type === 'MemberExpression' && parent.object === node ? propName(parent) : undefined
    if (name === 'require' && (parent?.type === 'CallExpression' || member !== undefined)) return
    if (name === 'module' && member === 'require') return
    if (name === 'process' && member !== undefined && PROCESS_REPORTED.has(member)) return
    ctx.report('node-global', node.start, `${name} is Node's: a tool's sandbox has no ${name}`)
  },
}
