/**
 * Signs that code hides what it does: long base64 or hex literals (a payload), strings as random
 * as encrypted or compressed data, text assembled from character codes, literals written mostly
 * in \x / \u escapes, and the _0x… names an obfuscator leaves. Each is a warning: a bundled
 * font or a test vector looks the same, so a person decides.
 */
import type { AnyNode, Node } from 'acorn'
import { memberPath } from './ast.js'
import type { Rule, RuleContext } from './context.js'

/** shortest literal judged an encoded payload (base64/hex) */
export const ENCODED_MIN = 200
/** shortest literal judged by its entropy, and the entropy (bits per character) that flags it */
export const ENTROPY_MIN_LENGTH = 80
export const ENTROPY_BITS = 5
/** escapes in one literal, and their share of its source text, that flag it */
const ESCAPES_MIN = 8
/** String.fromCharCode calls in one file, arguments in one call */
const CHAR_CODE_CALLS = 10
const CHAR_CODE_ARGS = 8
/** _0x… identifiers in one file */
const OBFUSCATED_NAMES = 10

/** Shannon entropy in bits per character (UTF-16 code unit). */
export function entropy(s: string): number {
  const counts = new Map<number, number>()
  for (let i = 0; i < s.length; i++) counts.set(s.charCodeAt(i), (counts.get(s.charCodeAt(i)) ?? 0) + 1)
  let h = 0
  for (const c of counts.values()) {
    const p = c / s.length
    h -= p * Math.log2(p)
  }
  return h
}

/**
 * A string that lists characters (an alphabet, a set of allowed characters) has as many distinct
 * characters as random data, but mostly in runs of consecutive codes: 'ABC…Zabc…z0123…9+/'.
 */
function listsCharacters(s: string): boolean {
  let runs = 0
  for (let i = 1; i < s.length; i++) if (s.charCodeAt(i) === s.charCodeAt(i - 1) + 1) runs++
  return runs * 2 >= s.length
}

function encoding(value: string): string | undefined {
  const s = value.replace(/^data:[^,]{0,100};base64,/, '').replace(/\s+/g, '')
  if (s.length < ENCODED_MIN) return undefined
  if (/^(0x)?[0-9a-f]+$/i.test(s)) return 'hex'
  const base64 = /^[A-Za-z0-9+/]+={0,2}$/.test(s) || /^[A-Za-z0-9_-]+={0,2}$/.test(s)
  return base64 && /[A-Z]/.test(s) && /[a-z]/.test(s) && /[0-9]/.test(s) ? 'base64' : undefined
}

function checkString(value: string, raw: string, at: number, ctx: RuleContext): void {
  const enc = encoding(value)
  if (enc) ctx.report('encoded-string', at, `a ${enc} string of ${value.length} characters: an encoded payload?`)
  else if (value.length >= ENTROPY_MIN_LENGTH && !listsCharacters(value)) {
    const h = entropy(value)
    if (h >= ENTROPY_BITS)
      ctx.report(
        'high-entropy-string',
        at,
        `a string of ${value.length} characters as random as encrypted data (${h.toFixed(1)} bits per character)`,
      )
  }
  const escapes = raw.match(/\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\u\{[0-9a-fA-F]+\}/g)
  // each escape is 4 to 10 characters of source: "mostly escapes" is escapes making up half the literal
  if (escapes && escapes.length >= ESCAPES_MIN && escapes.join('').length * 2 >= raw.length)
    ctx.report('escaped-string', at, `a string written in ${escapes.length} \\x/\\u escapes: hidden text?`)
}

function tallied(ctx: RuleContext, key: string, at: number): number {
  const t = ctx.tally.get(key) ?? { count: 0, first: at }
  t.count++
  ctx.tally.set(key, t)
  return t.count
}

export const obfuscationRule: Rule = {
  Literal(node, ctx) {
    if (typeof node.value === 'string') checkString(node.value, node.raw ?? '', node.start, ctx)
  },
  TemplateLiteral(node, ctx) {
    for (const q of node.quasis) if (q.value.cooked) checkString(q.value.cooked, q.value.raw, q.start, ctx)
  },
  CallExpression(node, ctx) {
    const { root, path } = memberPath(node.callee as AnyNode)
    if (root.type !== 'Identifier' || root.name !== 'String') return
    if (path[0] !== 'fromCharCode' && path[0] !== 'fromCodePoint') return
    const spread = path[1] === 'apply' || node.arguments.some((a: Node) => a.type === 'SpreadElement')
    if (spread || node.arguments.length >= CHAR_CODE_ARGS)
      ctx.report(
        'char-codes',
        node.start,
        `String.${path[0]} builds text from ${spread ? 'an array of' : 'many'} codes`,
      )
    else if (tallied(ctx, 'char-codes', node.start) === CHAR_CODE_CALLS)
      ctx.report(
        'char-codes',
        ctx.tally.get('char-codes')!.first,
        `String.${path[0]} is called ${CHAR_CODE_CALLS} times or more: text built from codes`,
      )
  },
  Identifier(node, ctx) {
    if (/^_0x[0-9a-f]{3,}$/i.test(node.name) && tallied(ctx, '_0x', node.start) === OBFUSCATED_NAMES)
      ctx.report(
        'obfuscated-names',
        ctx.tally.get('_0x')!.first,
        `${OBFUSCATED_NAMES} or more _0x… identifiers: the mark of a JavaScript obfuscator`,
      )
  },
}
