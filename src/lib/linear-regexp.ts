/**
 * A linear-time regular expression engine for JSON Schema `pattern` and `patternProperties`: RE2
 * (re2-wasm). ajv's default, `new RegExp`, backtracks, and a schema written by someone else is
 * untrusted input: a tool's `pattern: ^(a+)+$` took 9 s on 28 characters in the CLI process. RE2
 * matches in time linear in the input, at the price of no lookahead, no lookbehind and no
 * backreferences (a pattern using them does not compile: callers report it where it was written).
 *
 * re2-wasm is loaded on the first pattern, so schemas without one never pay for it (about 20 ms).
 */
import { createRequire } from 'node:module'

export interface RegExpLike {
  test(s: string): boolean
}

/** ajv's `code.regExp` option: a function of (pattern, flags), with `code` for standalone output. */
export interface RegExpEngine {
  (pattern: string, u: string): RegExpLike
  code: string
}

let RE2: typeof import('re2-wasm').RE2 | undefined

/** Compiles `pattern` with RE2 (which needs the u flag, added if missing); throws a SyntaxError-like Error. */
export function re2(pattern: string, flags = ''): RegExpLike {
  RE2 ??= (createRequire(import.meta.url)('re2-wasm') as typeof import('re2-wasm')).RE2
  return new RE2(pattern, flags.includes('u') ? flags : `${flags}u`)
}

export const linearRegExp: RegExpEngine = Object.assign((pattern: string, u: string) => re2(pattern, u), {
  code: '((p, u) => new (require("re2-wasm").RE2)(p, u.includes("u") ? u : u + "u"))',
})

/** Why RE2 refused a pattern, in words: its own message names the construct. */
export function re2Refusal(err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err)
  const what = raw.replace(/^Invalid regular expression: \/.*\/\w*: /s, '')
  return (
    `${what}. Patterns are matched with RE2 (linear time): no lookahead (?= (?!, ` +
    'no lookbehind (?<= (?<!, no backreferences \\1'
  )
}
