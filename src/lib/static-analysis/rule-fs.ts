/**
 * File-system calls through `fs` or `fs/promises`, however they were imported: writes (what the
 * fs.write permission covers) and reads (fs.read), with the path where it is written literally.
 * `open` is a write when its flag visibly asks for one ('w', 'a', '+', O_WRONLY, O_CREAT …).
 */
import { constants } from 'node:fs'
import type { AnyNode, CallExpression } from 'acorn'
import { simple } from 'acorn-walk'
import { staticString } from './ast.js'
import type { Rule, RuleContext } from './context.js'
import { moduleBase, refOf } from './module-refs.js'

const WRITES_FIRST = [
  'writeFile',
  'appendFile',
  'rm',
  'rmdir',
  'unlink',
  'mkdir',
  'mkdtemp',
  'createWriteStream',
  'chmod',
  'lchmod',
  'chown',
  'lchown',
  'truncate',
  'utimes',
  'lutimes',
]
/** the path written is the second argument (the destination) */
const WRITES_SECOND = ['rename', 'copyFile', 'cp', 'symlink', 'link']
const READS = ['readFile', 'readdir', 'opendir', 'createReadStream', 'readlink']

const table = new Map<string, { write: boolean; pathArg: number }>()
for (const [names, write, pathArg] of [
  [WRITES_FIRST, true, 0],
  [WRITES_SECOND, true, 1],
  [READS, false, 0],
] as const)
  for (const n of names) {
    table.set(n, { write, pathArg })
    if (n !== 'createWriteStream' && n !== 'createReadStream') table.set(`${n}Sync`, { write, pathArg })
  }

const WRITE_FLAGS = ['O_WRONLY', 'O_RDWR', 'O_CREAT', 'O_APPEND', 'O_TRUNC']
const WRITE_BITS = WRITE_FLAGS.reduce((bits, f) => bits | ((constants as Record<string, number>)[f] ?? 0), 0)

/** Whether an open() flag argument visibly asks to write. */
function writeFlag(arg: AnyNode | undefined): boolean {
  if (!arg) return false
  const s = staticString(arg)
  if (s !== undefined) return /[wa+]/.test(s)
  if (arg.type === 'Literal' && typeof arg.value === 'number') return (arg.value & WRITE_BITS) !== 0
  let seen = false
  simple(arg, {
    Identifier: (n) => void (seen ||= WRITE_FLAGS.includes(n.name)),
    MemberExpression: (n) =>
      void (seen ||= n.property.type === 'Identifier' && !n.computed && WRITE_FLAGS.includes(n.property.name)),
  })
  return seen
}

/** fs.writeFile, fs.promises.writeFile, fsp.writeFile, writeFile (imported): the method's name. */
function fsMethod(node: CallExpression, ctx: RuleContext): string | undefined {
  const ref = refOf(node.callee as AnyNode, ctx.bindings)
  if (!ref || moduleBase(ref.module) !== 'fs' || ref.path.length === 0) return undefined
  const via = ref.path.slice(0, -1)
  return via.every((p) => p === 'promises') ? ref.path.at(-1) : undefined
}

export const fsRule: Rule = {
  CallExpression(node, ctx) {
    const method = fsMethod(node, ctx)
    if (method === undefined) return
    const args = node.arguments as AnyNode[]
    const open = method === 'open' || method === 'openSync'
    const known = open ? { write: writeFlag(args[1]), pathArg: 0 } : table.get(method)
    if (!known) return
    const path = staticString(args[known.pathArg])
    const where = path === undefined ? 'a path computed at run time' : path
    const kind = known.write ? 'fs.write' : 'fs.read'
    ctx.report(
      known.write ? 'fs-write' : 'fs-read',
      node.start,
      `fs ${method} ${known.write ? 'writes' : 'reads'} ${where}`,
      {
        kind,
        ...(path === undefined ? {} : { path }),
      },
    )
  },
}
