/**
 * calculate: arithmetic and common functions, for models that should not do sums in their head.
 *
 * Runs in the tool sandbox (isolated-vm): plain ECMAScript, no imports, no host APIs. The
 * expression is tokenised, parsed into a small tree, then evaluated; nothing is ever handed to
 * eval, Function or a property lookup on a real object, so a name is only ever a key of the two
 * null-prototype tables below ("constructor", "__proto__", "this" ... are unknown names).
 *
 * Grammar (lowest precedence first; positions in messages are 1-based characters):
 *
 *   expression := sum
 *   sum        := product (('+' | '-') product)*                  left-associative
 *   product    := unary (('*' | '/' | '%') unary)*                left-associative
 *   unary      := ('+' | '-') unary | power
 *   power      := postfix (('^' | '**') unary)?                   right-associative
 *   postfix    := primary '!'*                                     factorial
 *   primary    := number | constant | name '(' arguments ')' | '(' expression ')'
 *   arguments  := expression (',' expression)*
 *   number     := digits ['.' digits] [('e' | 'E') ['+' | '-'] digits]  |  '.' digits [...]
 *
 * So -2^2 = -(2^2) = -4 (as in mathematics, Python, Excel is the odd one out), 2^-1 = 0.5,
 * 2^3^2 = 2^9, -3! = -(3!), 2^3! = 2^6. Implicit multiplication (2pi, 2(3), (1)(2)) is refused.
 * '%' is the remainder with the sign of the dividend (-7 % 3 = -1); mod(a, b) is the floored
 * modulo with the sign of the divisor (mod(-7, 3) = 2). Names are case-insensitive.
 *
 * The result: a finite number. Whole numbers below 1e15 are returned exactly; anything else is
 * rounded to 12 significant digits, which hides binary floating-point noise (0.1 + 0.2 = 0.3).
 * Each + and - keeps 15 significant digits of its larger operand, so cancellations do not bring
 * binary noise up (0.3 - 0.1 - 0.2 = 0), and sin, cos and tan results below the precision of their
 * argument are 0 (sin(pi) = 0; tan(pi/2) is an error).
 */

const MAX_LENGTH = 1000
const MAX_TOKENS = 500
const MAX_DEPTH = 64
const SIGNIFICANT_DIGITS = 12
/** Whole results below this are returned as they are (they have at most 15 digits). */
const EXACT_INTEGER_LIMIT = 1e15
/** a sin, cos or tan this close to zero, relative to its argument, is rounding noise */
const NOISE = 4 * Number.EPSILON

const has = (table, key) => Object.prototype.hasOwnProperty.call(table, key)

function fail(message) {
  throw new Error(message)
}

// ---------------------------------------------------------------------------------------------
// tokens

const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y
const SPACE = /\s+/y
/** single-character tokens; ×, ÷ and the Unicode minus sign are accepted as * / - */
const SYMBOLS = {
  '+': '+',
  '-': '-',
  '*': '*',
  '/': '/',
  '%': '%',
  '^': '^',
  '(': '(',
  ')': ')',
  ',': ',',
  '!': '!',
  '\u00d7': '*',
  '\u00f7': '/',
  '\u2212': '-',
}

function tokenize(text) {
  const tokens = []
  let i = 0
  const push = (token) => {
    if (tokens.length >= MAX_TOKENS) fail(`expression too long (more than ${MAX_TOKENS} tokens)`)
    tokens.push(token)
  }
  while (i < text.length) {
    SPACE.lastIndex = i
    const space = SPACE.exec(text)
    if (space) {
      i += space[0].length
      continue
    }
    const ch = text[i]
    const pos = i + 1
    NUMBER.lastIndex = i
    const number = NUMBER.exec(text)
    if (number) {
      const value = Number(number[0])
      if (!Number.isFinite(value)) fail(`number too large at ${pos}`)
      i += number[0].length
      if (text[i] === '_') fail(`underscores are not allowed in numbers at ${i + 1}`)
      if (text[i] === '.') fail(`unexpected '.' at ${i + 1}`)
      push({ type: 'number', value, text: number[0], pos })
      continue
    }
    NAME.lastIndex = i
    const name = NAME.exec(text)
    if (name) {
      i += name[0].length
      push({ type: 'name', value: name[0].toLowerCase(), text: name[0], pos })
      continue
    }
    if (ch === '*' && text[i + 1] === '*') {
      i += 2
      push({ type: '^', text: '**', pos })
      continue
    }
    if (has(SYMBOLS, ch)) {
      i += 1
      push({ type: SYMBOLS[ch], text: ch, pos })
      continue
    }
    const code = text.codePointAt(i)
    const shown =
      code < 0x20 || code === 0x7f
        ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
        : `'${String.fromCodePoint(code)}'`
    fail(`unexpected character ${shown} at ${pos}`)
  }
  tokens.push({ type: 'end', text: 'end of expression', pos: text.length + 1 })
  return tokens
}

// ---------------------------------------------------------------------------------------------
// parser: tokens → tree

const CONSTANTS = Object.assign(Object.create(null), { pi: Math.PI, e: Math.E, tau: 2 * Math.PI })

/** binary operators: precedence and associativity (unary +/- sits at 3, between * and ^) */
const BINARY = Object.assign(Object.create(null), {
  '+': { prec: 1, right: false },
  '-': { prec: 1, right: false },
  '*': { prec: 2, right: false },
  '/': { prec: 2, right: false },
  '%': { prec: 2, right: false },
  '^': { prec: 4, right: true },
})
const UNARY_PREC = 3

function describe(token) {
  return token.type === 'end' ? 'end of expression' : `'${token.text}' at ${token.pos}`
}

function parse(tokens) {
  let at = 0
  let depth = 0
  const peek = () => tokens[at]
  const next = () => tokens[at++]

  function open() {
    depth += 1
    if (depth > MAX_DEPTH) fail(`expression nested too deeply (more than ${MAX_DEPTH} levels of parentheses)`)
  }

  /** precedence climbing: operands bound by operators of precedence ≥ min */
  function expression(min) {
    let left = unary()
    for (;;) {
      const token = peek()
      const op = has(BINARY, token.type) ? BINARY[token.type] : undefined
      if (op === undefined) {
        if (token.type === 'number' || token.type === 'name' || token.type === '(') {
          fail(`missing operator before ${describe(token)} (implicit multiplication is not allowed: write '*')`)
        }
        return left
      }
      if (op.prec < min) return left
      next()
      // the right operand of ^ may carry a sign (2^-1); its own operators bind at ≥ prec
      const right = op.right ? expression(op.prec) : expression(op.prec + 1)
      left = { kind: 'binary', op: token.type, text: token.text, left, right, pos: token.pos }
    }
  }

  function unary() {
    const token = peek()
    if (token.type === '-' || token.type === '+') {
      next()
      // -2^2 = -(2^2): the operand takes every operator tighter than the sign (only ^)
      const operand = expression(UNARY_PREC)
      return token.type === '-' ? { kind: 'negate', operand, pos: token.pos } : operand
    }
    return postfix()
  }

  function postfix() {
    let node = primary()
    while (peek().type === '!') {
      const token = next()
      node = { kind: 'factorial', operand: node, pos: token.pos }
    }
    return node
  }

  function primary() {
    const token = next()
    if (token.type === 'number') return { kind: 'number', value: token.value }
    if (token.type === '(') {
      open()
      const inner = expression(0)
      close(token)
      depth -= 1
      return inner
    }
    if (token.type === 'name') {
      const name = token.value
      if (peek().type === '(') {
        if (has(CONSTANTS, name)) fail(`${token.text} is a constant, not a function (at ${token.pos})`)
        if (!has(FUNCTIONS, name)) fail(`unknown function ${token.text} at ${token.pos}`)
        const paren = next()
        open()
        const args = []
        if (peek().type === ')') fail(`${name} needs ${arity(FUNCTIONS[name])}, got 0 (at ${token.pos})`)
        args.push(expression(0))
        while (peek().type === ',') {
          next()
          args.push(expression(0))
        }
        close(paren)
        depth -= 1
        const fn = FUNCTIONS[name]
        if (args.length < fn.min || args.length > fn.max) {
          fail(`${name} needs ${arity(fn)}, got ${args.length} (at ${token.pos})`)
        }
        return { kind: 'call', name, args, pos: token.pos }
      }
      if (has(CONSTANTS, name)) return { kind: 'number', value: CONSTANTS[name] }
      if (has(FUNCTIONS, name)) fail(`${name} is a function: write ${name}(…) (at ${token.pos})`)
      fail(`unknown name ${token.text} at ${token.pos} (constants: pi, e, tau)`)
    }
    if (token.type === 'end') fail('unexpected end of expression')
    fail(`unexpected ${describe(token)}`)
  }

  function close(opening) {
    const token = peek()
    if (token.type === ')') {
      next()
      return
    }
    if (token.type === 'end') fail(`missing ')' for the '(' at ${opening.pos}`)
    fail(`unexpected ${describe(token)}`)
  }

  if (peek().type === 'end') fail('empty expression')
  const tree = expression(0)
  const rest = peek()
  if (rest.type !== 'end') {
    if (rest.type === ',')
      fail(`unexpected ',' at ${rest.pos} (commas only separate function arguments; no thousands separators)`)
    fail(`unexpected ${describe(rest)}`)
  }
  return tree
}

// ---------------------------------------------------------------------------------------------
// functions

function arity(fn) {
  const n = (k) => `${k} argument${k === 1 ? '' : 's'}`
  if (fn.max === Infinity) return `at least ${n(fn.min)}`
  if (fn.min === fn.max) return n(fn.min)
  return `${fn.min} or ${n(fn.max)}`
}

function fn(min, max, apply) {
  return { min, max, apply }
}

function positive(name, x) {
  if (!(x > 0)) fail(`${name} needs a positive number, got ${x}`)
  return x
}

function integer(name, x) {
  if (!Number.isInteger(x)) fail(`${name} needs whole numbers, got ${x}`)
  if (!Number.isSafeInteger(x)) fail(`${name} needs whole numbers below 2^53, got ${x}`)
  return x
}

function gcd2(a, b) {
  a = Math.abs(a)
  b = Math.abs(b)
  while (b !== 0) {
    const t = a % b
    a = b
    b = t
  }
  return a
}

/** Rounds half away from zero to `digits` decimals (negative: tens, hundreds …), in decimal. */
function roundTo(x, digits) {
  if (!Number.isInteger(digits) || digits < -100 || digits > 100)
    fail(`round needs a whole number of digits from -100 to 100, got ${digits}`)
  const shift = (v, by) => {
    const [mantissa, exponent = '0'] = String(v).split('e')
    return Number(`${mantissa}e${Number(exponent) + by}`)
  }
  const scaled = shift(Math.abs(x), digits)
  if (!Number.isFinite(scaled) || scaled >= 2 ** 52) return x // already no decimals to drop
  return Math.sign(x) * shift(Math.round(scaled), -digits)
}

/** sin, cos, tan: a result below the precision of the argument is 0 (sin(pi) = 0). */
function trig(f, x) {
  const y = f(x)
  return Math.abs(y) <= NOISE * Math.abs(x) ? 0 : y
}

function factorial(n, pos) {
  if (!Number.isInteger(n) || n < 0 || n > 170)
    fail(`factorial needs a whole number from 0 to 170, got ${n} (at ${pos})`)
  let product = 1
  for (let k = 2; k <= n; k++) product *= k
  return product
}

/** a^b; `where` says which operator or function, for messages */
function power(a, b, where) {
  if (a === 0 && b < 0) fail(`division by zero (0 to a negative power, ${where})`)
  if (a < 0 && !Number.isInteger(b))
    fail(`a negative number to a fractional power is not a real number (${where}; for roots of negatives use cbrt)`)
  return a ** b
}

const FUNCTIONS = Object.assign(Object.create(null), {
  sqrt: fn(1, 1, (x) => (x < 0 ? fail(`sqrt of a negative number is not a real number, got ${x}`) : Math.sqrt(x))),
  cbrt: fn(1, 1, Math.cbrt),
  abs: fn(1, 1, Math.abs),
  sign: fn(1, 1, Math.sign),
  floor: fn(1, 1, Math.floor),
  ceil: fn(1, 1, Math.ceil),
  round: fn(1, 2, (x, digits = 0) => roundTo(x, digits)),
  trunc: fn(1, 1, Math.trunc),
  min: fn(1, Infinity, (...xs) => Math.min(...xs)),
  max: fn(1, Infinity, (...xs) => Math.max(...xs)),
  sum: fn(1, Infinity, (...xs) => xs.reduce((s, x) => s + x, 0)),
  avg: fn(1, Infinity, (...xs) => xs.reduce((s, x) => s + x, 0) / xs.length),
  exp: fn(1, 1, Math.exp),
  ln: fn(1, 1, (x) => Math.log(positive('ln', x))),
  log: fn(1, 2, (x, base) => {
    if (base === undefined) return Math.log10(positive('log', x))
    if (!(base > 0) || base === 1) fail(`log needs a positive base other than 1, got ${base}`)
    return Math.log(positive('log', x)) / Math.log(base)
  }),
  log2: fn(1, 1, (x) => Math.log2(positive('log2', x))),
  log10: fn(1, 1, (x) => Math.log10(positive('log10', x))),
  sin: fn(1, 1, (x) => trig(Math.sin, x)),
  cos: fn(1, 1, (x) => trig(Math.cos, x)),
  tan: fn(1, 1, (x) => {
    if (trig(Math.cos, x) === 0) fail(`tan is undefined at ${x} (cos is 0)`)
    return trig(Math.tan, x)
  }),
  asin: fn(1, 1, (x) => (x < -1 || x > 1 ? fail(`asin needs a number from -1 to 1, got ${x}`) : Math.asin(x))),
  acos: fn(1, 1, (x) => (x < -1 || x > 1 ? fail(`acos needs a number from -1 to 1, got ${x}`) : Math.acos(x))),
  atan: fn(1, 1, Math.atan),
  atan2: fn(2, 2, Math.atan2),
  sinh: fn(1, 1, Math.sinh),
  cosh: fn(1, 1, Math.cosh),
  tanh: fn(1, 1, Math.tanh),
  hypot: fn(1, Infinity, (...xs) => Math.hypot(...xs)),
  pow: fn(2, 2, (a, b) => power(a, b, 'in pow')),
  mod: fn(2, 2, (a, b) => {
    if (b === 0) fail('division by zero (mod by 0)')
    const r = a % b
    return r !== 0 && r < 0 !== b < 0 ? r + b : r
  }),
  gcd: fn(1, Infinity, (...xs) => xs.map((x) => integer('gcd', x)).reduce(gcd2, 0)),
  lcm: fn(1, Infinity, (...xs) =>
    xs
      .map((x) => Math.abs(integer('lcm', x)))
      .reduce((a, b) => (a === 0 || b === 0 ? 0 : Math.abs((a / gcd2(a, b)) * b))),
  ),
  percent: fn(2, 2, (x, p) => (x * p) / 100),
  deg: fn(1, 1, (x) => (x * 180) / Math.PI),
  rad: fn(1, 1, (x) => (x * Math.PI) / 180),
})

// ---------------------------------------------------------------------------------------------
// evaluation

function finite(value, where) {
  if (Number.isNaN(value) || !Number.isFinite(value)) fail(`the result is not a finite number (${where})`)
  return value
}

/**
 * a + b, rounded to 15 significant digits of the larger operand: the digits below are binary
 * noise, and a cancellation would otherwise bring them up (0.3 - 0.1 - 0.2 is 0, not -2.8e-17;
 * 1 - 0.9999999999999 is 1e-13, not 1.00031e-13). Sums of safe integers are exact already.
 */
function addition(a, b) {
  const r = a + b
  if (r === 0 || (Number.isSafeInteger(a) && Number.isSafeInteger(b) && Number.isSafeInteger(r))) return r
  const scale = Math.max(Math.abs(a), Math.abs(b))
  if (!Number.isFinite(r) || !Number.isFinite(scale)) return r
  const quantum = Math.floor(Math.log10(scale)) - 14 // 10^quantum: the 15th digit of the larger
  const keep = Math.floor(Math.log10(Math.abs(r))) - quantum + 1 // digits of r down to it
  if (keep >= 17) return r
  if (keep < 1) return Math.abs(r) >= 0.5 * 10 ** quantum ? Math.sign(r) * Number(`1e${quantum}`) : 0
  return Number(r.toPrecision(keep))
}

function evaluate(node) {
  switch (node.kind) {
    case 'number':
      return node.value
    case 'negate':
      return -evaluate(node.operand)
    case 'factorial':
      return finite(factorial(evaluate(node.operand), node.pos), `'!' at ${node.pos}`)
    case 'call': {
      const args = node.args.map(evaluate)
      return finite(FUNCTIONS[node.name].apply(...args), `${node.name} at ${node.pos}`)
    }
    case 'binary': {
      const a = evaluate(node.left)
      const b = evaluate(node.right)
      const where = `'${node.text}' at ${node.pos}`
      switch (node.op) {
        case '+':
        case '-': {
          return finite(addition(a, node.op === '+' ? b : -b), where)
        }
        case '*':
          return finite(a * b, where)
        case '/':
          if (b === 0) fail(`division by zero at ${node.pos}`)
          return finite(a / b, where)
        case '%':
          if (b === 0) fail(`division by zero ('%' by 0 at ${node.pos})`)
          return finite(a % b, where)
        case '^':
          return finite(power(a, b, where), where)
      }
    }
  }
  fail('internal error: unknown node')
}

/** Whole numbers below 1e15 as they are; anything else to 12 significant digits; never -0. */
function tidy(x) {
  if (x === 0) return 0
  if (Number.isInteger(x) && Math.abs(x) < EXACT_INTEGER_LIMIT) return x
  const rounded = Number(x.toPrecision(SIGNIFICANT_DIGITS))
  return rounded === 0 ? 0 : rounded
}

export default function calculate({ expression } = {}) {
  if (typeof expression !== 'string') fail('expression must be a string')
  if (expression.length > MAX_LENGTH) fail(`expression too long (more than ${MAX_LENGTH} characters)`)
  const tree = parse(tokenize(expression))
  const result = tidy(finite(evaluate(tree), 'the expression'))
  return { expression, result }
}
