/**
 * Redaction of secrets before anything is stored (memory documents, session files, the outbox).
 * Each finding is replaced by `[REDACTED:KIND]`; the kinds are
 *
 *   PRIVATE_KEY  PEM private key blocks
 *   JWT          three base64url parts, header and payload starting `eyJ`
 *   API_KEY      well-known token shapes: sk-…, sk_live_…, ghp_…/github_pat_…, glpat-…, xox?-…,
 *                AKIA…/ASIA…, AIza…, hf_…, npm_…
 *   TOKEN        `Bearer …` credentials
 *   PASSWORD     the value of password/passwd/pwd/passphrase in `key=value`, `key: value`,
 *                `"key": "value"`; the password in `scheme://user:password@host`
 *   SECRET       the value of secret/token/api_key/apikey/access_key/client_secret/… in the same
 *                shapes; a long hex or base64 string shortly after the words key/token/secret/…
 *   CARD         13–19 digits, optionally grouped by spaces or dashes, passing the Luhn check
 *   EMAIL        e-mail addresses
 *   CUSTOM       a configured pattern
 *
 * Only the value is replaced in key=value shapes (`password=[REDACTED:PASSWORD]`), so the text
 * still reads sensibly when it is recalled. Redaction is idempotent: placeholders are never
 * redacted again.
 *
 * Backtracking: every built-in pattern has bounded repetitions and no nested unbounded quantifier,
 * so its cost is linear in the text (times a small constant). Configured patterns are checked when
 * compiled (length, no empty matches, no nested or alternated unbounded quantifiers such as
 * `(a+)+` or `(a|ab)*`, no back-references) and then run under a time budget in a `vm` context,
 * which interrupts a pattern that still backtracks badly (`\d+\d+\d+x`) with a clear error instead
 * of stalling the run.
 */
import vm from 'node:vm'
import { MiradorError } from '../../engine/errors.js'

export type RedactionKind =
  | 'PRIVATE_KEY'
  | 'JWT'
  | 'API_KEY'
  | 'TOKEN'
  | 'PASSWORD'
  | 'SECRET'
  | 'CARD'
  | 'EMAIL'
  | 'CUSTOM'

export interface RedactionResult {
  text: string
  /** kinds found, in the order of the table above, with how many of each */
  found: { kind: string; count: number }[]
}

export interface RedactOptions {
  /** time budget for the configured patterns, per call (default 500 ms) */
  timeoutMs?: number
}

/** the longest configured pattern accepted, in characters */
export const MAX_PATTERN_LENGTH = 500

const PLACEHOLDER = /^\[REDACTED:[A-Z_]+\]$/

interface Detector {
  kind: RedactionKind
  re: RegExp
  /** replaces one match; returns the match itself to keep it */
  replace: (m: RegExpExecArray | string[], kind: string) => string
}

const whole = (_m: unknown, kind: string) => `[REDACTED:${kind}]`

/** words a name may end in, also glued to a prefix (`dbpassword`, `clientsecret`) */
const PASSWORD_WORDS = 'password|passwd|passwort|passphrase'
const SECRET_WORDS = [
  'secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key',
  'private[_-]?key|signing[_-]?key|encryption[_-]?key|master[_-]?key|credentials?',
].join('|')
/** short words a name may end in only after a separator (`db_pass`, `PGPASS` no, so `compass: north` survives) */
const PASSWORD_SHORT = 'pass|pwd'

/** the value after `name =`: quoted, in angle brackets, or up to whitespace, a quote, a comma or a semicolon */
const KEY_VALUE_VALUE = String.raw`("[^"\n]{1,300}"|'[^'\n]{1,300}'|<[^<>\n]{1,100}>|[^\s"',;]{1,300})`

/**
 * `name = value`: the name may carry a prefix (`DB_PASSWORD`, `x-api-key`) but must end in one of
 * the words, so `max_tokens: 512` or `token_count=3` are left alone. The value is quoted, or runs
 * to whitespace, a comma, a semicolon or a quote.
 */
function keyValue(words: string, short?: string): RegExp {
  const name =
    String.raw`(?:[A-Za-z0-9]{1,20}[_.-]){0,3}(?:[A-Za-z0-9]{0,20}(?:${words})` + (short ? `|(?:${short}))` : ')')
  return new RegExp(
    String.raw`(?<![A-Za-z0-9])(["']?)(${name})\1([ \t]{0,3}(?:=|:|=>|:=)[ \t]{0,3})` + KEY_VALUE_VALUE,
    'gi',
  )
}

function keyValueReplace(m: RegExpExecArray | string[], kind: string): string {
  const [all, q = '', name = '', sep = '', value = ''] = m
  const inner = value.replace(/^["']|["']$/g, '')
  if (
    PLACEHOLDER.test(inner) ||
    /^(?:\*+|x{3,}|<[^>]*>|\$\{[^}]*\}|\$[A-Z_][A-Z0-9_]*|null|none|true|false|undefined)$/i.test(inner)
  )
    return all ?? ''
  const quote = value.startsWith('"') ? '"' : value.startsWith("'") ? "'" : ''
  return `${q}${name}${q}${sep}${quote}[REDACTED:${kind}]${quote}`
}

function hasDigitAndLetter(s: string): boolean {
  return /\d/.test(s) && /[A-Za-z]/.test(s)
}

export function luhn(digits: string): boolean {
  let sum = 0
  let dbl = false
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48
    if (dbl) {
      d *= 2
      if (d > 9) d -= 9
    }
    sum += d
    dbl = !dbl
  }
  return sum % 10 === 0
}

/** a card number as written: one kind of separator at most, groups of 3–6 digits, a card-like first digit */
function isCard(candidate: string): boolean {
  const digits = candidate.replace(/[ -]/g, '')
  if (digits.length < 13 || digits.length > 19) return false
  if (!/^[2-6]/.test(digits)) return false
  if (/^(\d)\1+$/.test(digits)) return false
  const seps = new Set(candidate.replace(/\d/g, ''))
  if (seps.size > 1) return false
  if (seps.size === 1) {
    const groups = candidate.split(/[ -]/)
    if (groups.some((g) => g.length < 3 || g.length > 6)) return false
  }
  return luhn(digits)
}

const DETECTORS: Detector[] = [
  {
    kind: 'PRIVATE_KEY',
    re: /-----BEGIN (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----[\s\S]{0,8000}?-----END (?:[A-Z0-9]{1,20} ){0,3}PRIVATE KEY-----/g,
    replace: whole,
  },
  {
    kind: 'JWT',
    re: /(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{5,2000}\.eyJ[A-Za-z0-9_-]{5,8000}\.[A-Za-z0-9_-]{10,2000}(?![A-Za-z0-9_-])/g,
    replace: whole,
  },
  {
    // URL credentials come before e-mail: `user:pw@host.example` also looks like an address
    kind: 'PASSWORD',
    re: /(?<![A-Za-z0-9+.-])([A-Za-z][A-Za-z0-9+.-]{1,20}:\/\/[^\s:/@]{1,100}:)([^\s/@]{1,200})(@)/g,
    replace: (m, kind) => (PLACEHOLDER.test(m[2] ?? '') ? (m[0] ?? '') : `${m[1]}[REDACTED:${kind}]${m[3]}`),
  },
  {
    kind: 'API_KEY',
    re: new RegExp(
      String.raw`(?<![A-Za-z0-9_-])(?:` +
        [
          String.raw`sk-(?:ant-|proj-|live-|test-|svcacct-|admin-)?[A-Za-z0-9_-]{20,300}`,
          String.raw`(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,300}`,
          String.raw`gh[pousr]_[A-Za-z0-9]{30,255}`,
          String.raw`github_pat_[A-Za-z0-9_]{22,255}`,
          String.raw`glpat-[A-Za-z0-9_-]{20,100}`,
          String.raw`xox[abposre]-[A-Za-z0-9-]{10,250}`,
          String.raw`(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}`,
          String.raw`AIza[0-9A-Za-z_-]{35}`,
          String.raw`hf_[A-Za-z0-9]{30,100}`,
          String.raw`npm_[A-Za-z0-9]{36}`,
        ].join('|') +
        String.raw`)(?![A-Za-z0-9_-])`,
      'g',
    ),
    // prose like `sk-learn-style-hyphenated-words-here` has no digits; real keys do
    replace: (m, kind) => (hasDigitAndLetter(m[0] ?? '') ? `[REDACTED:${kind}]` : (m[0] ?? '')),
  },
  {
    kind: 'TOKEN',
    re: /(?<![A-Za-z0-9])(Bearer|Basic|Token)([ \t]{1,3})([A-Za-z0-9._~+/-]{16,2000}={0,2})(?![A-Za-z0-9._~+/=-])/g,
    replace: (m, kind) => (hasDigitAndLetter(m[3] ?? '') ? `${m[1]}${m[2]}[REDACTED:${kind}]` : (m[0] ?? '')),
  },
  { kind: 'PASSWORD', re: keyValue(PASSWORD_WORDS, PASSWORD_SHORT), replace: keyValueReplace },
  { kind: 'SECRET', re: keyValue(SECRET_WORDS), replace: keyValueReplace },
  {
    // "my github token is 3f9a…": a long random-looking string shortly after a telling word
    kind: 'SECRET',
    re: /(\b(?:key|token|secret|password|passphrase|credential|apikey)s?\b[^\n]{0,30}?)(?<![A-Za-z0-9+/_=-])([A-Fa-f0-9]{32,512}|[A-Za-z0-9+/_-]{32,512}={0,2})(?![A-Za-z0-9+/_=-])/gi,
    replace: (m, kind) => {
      const v = m[2] ?? ''
      // hex needs letters and digits; base64 also a mix of cases, so long words or paths survive
      const random = /^[A-Fa-f0-9]+$/.test(v)
        ? hasDigitAndLetter(v)
        : hasDigitAndLetter(v) && /[a-z]/.test(v) && /[A-Z]/.test(v)
      return random ? `${m[1]}[REDACTED:${kind}]` : (m[0] ?? '')
    },
  },
  {
    kind: 'CARD',
    re: /(?<![\d.,-])[2-6](?:[ -]?\d){12,18}(?![\d]|[.,]\d)/g,
    replace: (m, kind) => (isCard(m[0] ?? '') ? `[REDACTED:${kind}]` : (m[0] ?? '')),
  },
  {
    kind: 'EMAIL',
    re: /(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9-]|\.[A-Za-z0-9])/g,
    replace: whole,
  },
]

const KIND_ORDER: string[] = ['PRIVATE_KEY', 'JWT', 'API_KEY', 'TOKEN', 'PASSWORD', 'SECRET', 'CARD', 'EMAIL', 'CUSTOM']

interface CompiledPattern {
  re: RegExp
  source: string
  /** replace only the `secret` named group */
  group: boolean
}

const compiledCache = new Map<string, CompiledPattern>()

/**
 * Compiles a configured pattern: a RegExp, a `/source/flags` string, or a plain source string
 * (case-sensitive). A named group `secret` limits the replacement to that group, e.g.
 * `employee-id: (?<secret>\d{6})`. Throws CONFIG_INVALID saying what is wrong.
 */
export function compilePattern(pattern: string | RegExp): CompiledPattern {
  const key = typeof pattern === 'string' ? `s:${pattern}` : `r:${pattern.source}/${pattern.flags}`
  const hit = compiledCache.get(key)
  if (hit) return hit
  let source: string
  let flags: string
  if (pattern instanceof RegExp) {
    source = pattern.source
    flags = pattern.flags
  } else {
    const slashed = /^\/([\s\S]+)\/([a-z]*)$/.exec(pattern)
    source = slashed ? (slashed[1] ?? '') : pattern
    flags = slashed ? (slashed[2] ?? '') : ''
  }
  const shown = typeof pattern === 'string' ? JSON.stringify(pattern) : String(pattern)
  const fail = (why: string) =>
    new MiradorError('CONFIG_INVALID', `redaction pattern ${shown}: ${why}`, { details: { pattern: String(pattern) } })
  if (source.length === 0) throw fail('is empty')
  if (source.length > MAX_PATTERN_LENGTH)
    throw fail(`is ${source.length} characters long; the limit is ${MAX_PATTERN_LENGTH}`)
  const badFlag = [...flags].find((f) => !'dgimsuy'.includes(f))
  if (badFlag) throw fail(`unknown or unsupported flag "${badFlag}" (allowed: i, m, s, u)`)
  flags = [...new Set([...flags.replace(/[gyd]/g, ''), 'g', 'd'])].join('')
  const risk = backtrackingRisk(source)
  if (risk)
    throw fail(
      `${risk}, which can take exponential time on some texts (catastrophic backtracking). ` +
        'Rewrite it with bounded repetitions, e.g. [a-z0-9]{1,40}',
    )
  let re: RegExp
  try {
    re = new RegExp(source, flags)
  } catch (err) {
    throw fail(
      `is not a valid regular expression: ${(err as Error).message.replace(/^Invalid regular expression: /, '')}`,
    )
  }
  re.lastIndex = 0
  if (re.test('')) throw fail('matches the empty text; it must match at least one character')
  re.lastIndex = 0
  const compiled = { re, source, group: /\(\?<secret>/.test(source) }
  if (compiledCache.size > 200) compiledCache.clear()
  compiledCache.set(key, compiled)
  return compiled
}

/**
 * A conservative static check for the pattern shapes that backtrack exponentially: an unbounded
 * quantifier (`*`, `+`, `{n,}`) or a large bounded one applied to a group that itself contains a
 * quantifier or an alternation, and back-references. Returns why, or undefined.
 */
export function backtrackingRisk(source: string): string | undefined {
  interface Frame {
    quantified: boolean
    alternation: boolean
  }
  const stack: Frame[] = [{ quantified: false, alternation: false }]
  let inClass = false
  const quantAt = (i: number): { len: number; unbounded: boolean } | undefined => {
    const c = source[i]
    if (c === '*' || c === '+') return { len: 1, unbounded: true }
    if (c === '?') return { len: 1, unbounded: false }
    if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i))
      if (!m) return undefined
      const max = m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3])
      return { len: m[0].length, unbounded: max > 10 }
    }
    return undefined
  }
  for (let i = 0; i < source.length; i++) {
    const c = source[i]
    if (c === '\\') {
      const next = source[i + 1] ?? ''
      if (/[1-9]/.test(next) || (next === 'k' && source[i + 2] === '<')) return 'it uses a back-reference'
      i++
      continue
    }
    if (inClass) {
      if (c === ']') inClass = false
      continue
    }
    if (c === '[') {
      inClass = true
      if (source[i + 1] === ']') i++
      continue
    }
    if (c === '(') {
      stack.push({ quantified: false, alternation: false })
      continue
    }
    if (c === '|') {
      stack[stack.length - 1]!.alternation = true
      continue
    }
    if (c === ')') {
      const inner = stack.pop()
      if (!inner || stack.length === 0) return undefined // unbalanced: the RegExp constructor reports it
      const q = quantAt(i + 1)
      const outer = stack[stack.length - 1]!
      if (q) {
        if (q.unbounded && inner.quantified) return 'it repeats a group that itself contains a repetition, like (a+)+'
        if (q.unbounded && inner.alternation) return 'it repeats a group that contains alternatives, like (a|ab)*'
        outer.quantified = true
        i += q.len
        if (source[i + 1] === '?') i++ // lazy
      }
      outer.quantified ||= inner.quantified
      continue
    }
    const q = quantAt(i)
    if (q) {
      stack[stack.length - 1]!.quantified = true
      i += q.len - 1
    }
  }
  return undefined
}

const vmContext = vm.createContext({})

/**
 * Replaces every secret in `text` by `[REDACTED:KIND]` (see the module comment) and, after the
 * built-in detectors, every match of `extraPatterns`.
 */
export function redact(
  text: string,
  extraPatterns: (string | RegExp)[] = [],
  options: RedactOptions = {},
): RedactionResult {
  const counts = new Map<string, number>()
  const count = (kind: string) => counts.set(kind, (counts.get(kind) ?? 0) + 1)
  let out = text
  for (const d of DETECTORS) {
    d.re.lastIndex = 0
    out = out.replace(d.re, (...args: unknown[]) => {
      const m = groupsOf(args)
      const r = d.replace(m, d.kind)
      if (r !== m[0]) count(d.kind)
      return r
    })
  }
  if (extraPatterns.length > 0) {
    const compiled = extraPatterns.map(compilePattern)
    const timeout = options.timeoutMs ?? 500
    let current: CompiledPattern | undefined
    const job = () => {
      for (const p of compiled) {
        current = p
        out = replaceCustom(out, p, () => count('CUSTOM'))
      }
    }
    ;(vmContext as { job?: () => void }).job = job
    try {
      vm.runInContext('job()', vmContext, { timeout })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
        throw new MiradorError(
          'CONFIG_INVALID',
          `redaction pattern /${current?.source ?? '?'}/ took over ${timeout} ms on a ${text.length}-character text ` +
            '(catastrophic backtracking); nothing was stored. ' +
            'Simplify it: avoid adjacent repetitions that can match the same characters, like \\d+\\d+.',
          { cause: err },
        )
      }
      throw err
    } finally {
      delete (vmContext as { job?: () => void }).job
    }
  }
  const found = KIND_ORDER.filter((k) => counts.has(k)).map((kind) => ({ kind, count: counts.get(kind)! }))
  return { text: out, found }
}

/** one configured pattern over `text`; with a `secret` group only that group is replaced */
function replaceCustom(text: string, p: CompiledPattern, onHit: () => void): string {
  const re = p.re
  re.lastIndex = 0
  let out = ''
  let last = 0
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[0] === '') {
      re.lastIndex++
      continue
    }
    const span = p.group ? m.indices?.groups?.secret : undefined
    const [from, to] = span ?? [m.index, m.index + m[0].length]
    const hit = text.slice(from, to)
    if (hit === '' || PLACEHOLDER.test(hit) || from < last) continue
    onHit()
    out += text.slice(last, from) + '[REDACTED:CUSTOM]'
    last = to
  }
  return out + text.slice(last)
}

/** String.replace callback arguments → [match, ...groups] */
function groupsOf(args: unknown[]): string[] {
  const hasNamed = typeof args[args.length - 1] === 'object' && args[args.length - 1] !== null
  const end = args.length - (hasNamed ? 3 : 2)
  return args.slice(0, end).map((a) => (typeof a === 'string' ? a : '')) as string[]
}
