/**
 * Loading modules: Node's modules that reach outside the process (child processes, the network)
 * or outside the permission checks (threads, vm, the inspector), in every form a module can be
 * loaded; a load whose name is computed at run time; and, for tools, any load at all (the
 * sandbox has no modules).
 */
import type { AnyNode } from 'acorn'
import type { Rule, RuleContext } from './context.js'
import { moduleBase, moduleLoad, type ModuleLoad } from './module-refs.js'
import type { Permission, RuleId } from './types.js'

interface ModuleRisk {
  rule: RuleId
  why: string
  permission?: Permission
}

const CHILD: ModuleRisk = { rule: 'child-process', why: 'starts other programs', permission: { kind: 'childProcess' } }
const NET: ModuleRisk = { rule: 'network', why: 'opens network connections', permission: { kind: 'network' } }

const RISKS: Readonly<Record<string, ModuleRisk>> = {
  child_process: CHILD,
  cluster: { ...CHILD, why: 'forks processes' },
  net: NET,
  tls: NET,
  http: NET,
  https: NET,
  http2: NET,
  dgram: NET,
  dns: { ...NET, why: 'resolves names over the network' },
  worker_threads: { rule: 'unsafe-module', why: 'starts threads' },
  vm: { rule: 'unsafe-module', why: 'compiles and runs code' },
  inspector: { rule: 'unsafe-module', why: "opens the process's debugger" },
}

function check(load: ModuleLoad, offset: number, ctx: RuleContext): void {
  if (load.spec === undefined) {
    ctx.report('computed-import', offset, `${load.via} of a name computed at run time: what it loads cannot be checked`)
    return
  }
  const risk = RISKS[moduleBase(load.spec)]
  if (risk) ctx.report(risk.rule, offset, `${load.via} of ${load.spec}: ${risk.why}`, risk.permission)
  else if (ctx.profile === 'tool')
    ctx.report('import', offset, `${load.via} of ${load.spec}: a tool runs in a sandbox that has no modules`)
}

const call = (node: AnyNode, ctx: RuleContext) => {
  const load = moduleLoad(node, ctx.bindings)
  if (load) check(load, node.start, ctx)
}

export const modulesRule: Rule = {
  ImportDeclaration: (node, ctx) => check({ via: 'import', spec: String(node.source.value) }, node.start, ctx),
  ExportAllDeclaration: (node, ctx) =>
    check({ via: 'export … from', spec: String(node.source.value) }, node.start, ctx),
  ExportNamedDeclaration: (node, ctx) => {
    if (node.source) check({ via: 'export … from', spec: String(node.source.value) }, node.start, ctx)
  },
  ImportExpression: call,
  CallExpression: call,
}
