/**
 * Every rule with its severity for each profile, in one table. A plugin's severities say how far
 * a behaviour is from what a declared permission covers (a warning when a permission can cover it,
 * an error when nothing can); a tool's say whether it can work at all in the sandbox, where there
 * is no module, no `process`, no network: using one is an error, the rest (eval, tampering with
 * the isolate's own built-ins, obfuscation) is contained there and a warning.
 */
import type { Profile, RuleId, Severity } from './types.js'

export interface RuleInfo {
  plugin: Severity
  tool: Severity
  /** what the rule looks for, for documentation and `--json` readers */
  summary: string
}

export const RULES: Readonly<Record<RuleId, RuleInfo>> = Object.freeze({
  'parse-error': { plugin: 'error', tool: 'error', summary: 'the file is not JavaScript acorn can parse' },
  'skipped-file': {
    plugin: 'warning',
    tool: 'error',
    summary: 'a file not analyzed: too large, not a regular file, unreadable, a symbolic link',
  },
  'findings-capped': { plugin: 'info', tool: 'info', summary: 'more findings in the file than are listed' },
  import: { plugin: 'info', tool: 'error', summary: 'an import or require (a tool has no modules)' },
  'node-global': {
    plugin: 'info',
    tool: 'error',
    summary: "Node's globals: process, require, module, Buffer, timers (a tool's isolate has none)",
  },
  'child-process': {
    plugin: 'warning',
    tool: 'error',
    summary: 'child_process or cluster: starts other programs (childProcess permission)',
  },
  network: {
    plugin: 'warning',
    tool: 'error',
    summary: 'net, tls, http(s), http2, dgram, dns, fetch, WebSocket (network permission)',
  },
  'unsafe-module': {
    plugin: 'warning',
    tool: 'error',
    summary: 'worker_threads, vm, inspector: no permission grants them',
  },
  'computed-import': {
    plugin: 'warning',
    tool: 'error',
    summary: 'import() or require() of a name computed at run time: what it loads cannot be checked',
  },
  'fs-write': { plugin: 'warning', tool: 'error', summary: 'a file-system write (fs.write permission)' },
  'fs-read': { plugin: 'info', tool: 'error', summary: 'a file-system read (fs.read permission)' },
  'process-binding': {
    plugin: 'error',
    tool: 'error',
    summary: "process.binding, process._linkedBinding, process.dlopen: Node's internals or native code",
  },
  env: { plugin: 'warning', tool: 'error', summary: 'reads process.env (env permission)' },
  eval: { plugin: 'warning', tool: 'warning', summary: 'eval, direct or indirect: runs a string as code' },
  'new-function': {
    plugin: 'warning',
    tool: 'warning',
    summary: 'new Function, Function(), a function constructor reached through .constructor',
  },
  tamper: {
    plugin: 'error',
    tool: 'warning',
    summary: 'changes a shared built-in: Object.prototype, JSON, globalThis.fetch, fetch = …',
  },
  'encoded-string': { plugin: 'warning', tool: 'warning', summary: 'a long base64 or hex string literal' },
  'high-entropy-string': {
    plugin: 'warning',
    tool: 'warning',
    summary: 'a string literal as random as encrypted or compressed data',
  },
  'char-codes': {
    plugin: 'warning',
    tool: 'warning',
    summary: 'text built from character codes (String.fromCharCode chains)',
  },
  'escaped-string': {
    plugin: 'warning',
    tool: 'warning',
    summary: 'a string literal written mostly in \\x or \\u escapes',
  },
  'obfuscated-names': {
    plugin: 'warning',
    tool: 'warning',
    summary: "many _0x… identifiers, an obfuscator's signature",
  },
})

export function severityOf(rule: RuleId, profile: Profile): Severity {
  return RULES[rule][profile]
}
