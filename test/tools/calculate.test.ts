/**
 * The calculate tool (tools/calculate.mjs): a bounded recursive-descent parser, never eval.
 * The module is plain JavaScript written for the sandbox (no declarations), imported directly.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from '@jest/globals'

type Calculate = (args: { expression: string }) => { expression: string; result: number }

const SOURCE = new URL('../../tools/calculate.mjs', import.meta.url)
const { default: calculate } = (await import(SOURCE.href)) as { default: Calculate }

const value = (expression: string): number => calculate({ expression }).result
const error = (expression: string): string => {
  try {
    calculate({ expression })
  } catch (e) {
    expect(e).toBeInstanceOf(Error)
    return (e as Error).message
  }
  throw new Error(`no error for ${JSON.stringify(expression)}`)
}

describe('calculate: the result', () => {
  it('returns the expression as given and a finite number', () => {
    expect(calculate({ expression: ' 1 + 2 ' })).toEqual({ expression: ' 1 + 2 ', result: 3 })
  })

  it('is JSON-serialisable', () => {
    const out = calculate({ expression: 'sqrt(2)' })
    expect(JSON.parse(JSON.stringify(out))).toEqual(out)
  })

  it.each<[string, number]>([
    ['0.1 + 0.2', 0.3],
    ['0.3 - 0.1 - 0.2', 0],
    ['1.1 - 1', 0.1],
    ['0.1 * 3', 0.3],
    ['0.1 * 3 - 0.3', 0],
    ['1 - 0.9999999999999', 1e-13],
    ['sqrt(2)', 1.41421356237],
    ['1 / 3', 0.333333333333],
    ['2 / 3', 0.666666666667],
    ['-0', 0],
    ['1e-20', 1e-20],
  ])('rounds noise away: %s = %p', (expression, expected) => {
    expect(value(expression)).toBe(expected)
  })

  it('never returns -0', () => {
    expect(Object.is(value('-0'), 0)).toBe(true)
    expect(Object.is(value('0 * -1'), 0)).toBe(true)
  })

  it('keeps whole numbers below 1e15 exact and rounds larger ones to 12 significant digits', () => {
    expect(value('1234567890123 + 1')).toBe(1234567890124)
    expect(value('999999999999999')).toBe(999999999999999)
    expect(value('2^53')).toBe(9007199254740000)
    expect(value('170!')).toBe(7.25741561531e306)
  })
})

describe('calculate: numbers and constants', () => {
  it.each<[string, number]>([
    ['42', 42],
    ['3.25', 3.25],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['2.5E-2', 0.025],
    ['1e+2', 100],
    ['pi', 3.14159265359],
    ['e', 2.71828182846],
    ['tau', 6.28318530718],
    ['tau - 2 * pi', 0],
    ['PI', 3.14159265359],
  ])('%s = %p', (expression, expected) => {
    expect(value(expression)).toBe(expected)
  })
})

describe('calculate: precedence and associativity', () => {
  it.each<[string, number]>([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['100 / 10 / 5', 2],
    ['2 * 3 / 4', 1.5],
    ['7 - 2 * 3 + 1', 2],
    ['2 ^ 3 ^ 2', 512],
    ['2 ** 3 ** 2', 512],
    ['(2 ^ 3) ^ 2', 64],
    ['2 * 3 ^ 2', 18],
    ['10 % 4 * 3', 6],
    ['1 + 10 % 4', 3],
    ['((((1))))', 1],
    ['2 × 3 − 1 ÷ 2', 5.5],
  ])('%s = %p', (expression, expected) => {
    expect(value(expression)).toBe(expected)
  })
})

describe('calculate: unary signs', () => {
  it.each<[string, number]>([
    // a sign binds looser than ^, as in mathematics: -2^2 is -(2^2)
    ['-2^2', -4],
    ['-2 ** 2', -4],
    ['(-2)^2', 4],
    ['2^-1', 0.5],
    ['2^-2^2', 0.0625],
    ['-3', -3],
    ['+3', 3],
    ['--3', 3],
    ['-+-3', 3],
    ['2 * -3', -6],
    ['2 - -3', 5],
    ['-2 * 3', -6],
    ['-2^2 + 1', -3],
    ['-(1 + 2)', -3],
  ])('%s = %p', (expression, expected) => {
    expect(value(expression)).toBe(expected)
  })
})

describe('calculate: factorial', () => {
  it.each<[string, number]>([
    ['0!', 1],
    ['1!', 1],
    ['5!', 120],
    ['17!', 355687428096000],
    ['3!!', 720],
    ['-3!', -6],
    ['2^3!', 64],
    ['(1 + 2)!', 6],
    ['3! * 2', 12],
  ])('%s = %p', (expression, expected) => {
    expect(value(expression)).toBe(expected)
  })

  it.each(['2.5!', '(-1)!', '171!'])('refuses %s', (expression) => {
    expect(error(expression)).toMatch(/^factorial needs a whole number from 0 to 170, got/)
  })
})

describe('calculate: functions', () => {
  it.each<[string, number]>([
    ['sqrt(16)', 4],
    ['cbrt(-27)', -3],
    ['abs(-4.5)', 4.5],
    ['sign(-3)', -1],
    ['floor(-2.5)', -3],
    ['ceil(2.1)', 3],
    ['trunc(-2.7)', -2],
    ['round(2.5)', 3],
    ['round(-2.5)', -3],
    ['round(1.005, 2)', 1.01],
    ['round(3.14159, 3)', 3.142],
    ['round(1234, -2)', 1200],
    ['min(3, 1, 2)', 1],
    ['max(3, 1, 2, 10, -5)', 10],
    ['max(7)', 7],
    ['sum(1, 2, 3, 4)', 10],
    ['sum(0.1, 0.2)', 0.3],
    ['avg(1, 2, 3, 4)', 2.5],
    ['exp(0)', 1],
    ['exp(1) - e', 0],
    ['ln(e^2)', 2],
    ['log(1000)', 3],
    ['log(8, 2)', 3],
    ['log2(1024)', 10],
    ['log10(0.001)', -3],
    ['sin(pi)', 0],
    ['cos(pi)', -1],
    ['cos(pi / 2)', 0],
    ['tan(pi / 4)', 1],
    ['sin(rad(30))', 0.5],
    ['deg(asin(1))', 90],
    ['deg(acos(0.5))', 60],
    ['deg(atan(1))', 45],
    ['deg(atan2(1, -1))', 135],
    ['sinh(0) + cosh(0) + tanh(0)', 1],
    ['hypot(3, 4)', 5],
    ['hypot(2, 3, 6)', 7],
    ['pow(2, 10)', 1024],
    ['mod(-7, 3)', 2],
    ['-7 % 3', -1],
    ['mod(7, -3)', -2],
    ['mod(5.5, 2)', 1.5],
    ['gcd(12, 18, 30)', 6],
    ['gcd(-4)', 4],
    ['lcm(4, 6, 10)', 60],
    ['lcm(0, 5)', 0],
    ['percent(200, 15)', 30],
    ['percent(80, 12.5)', 10],
    ['deg(pi)', 180],
    ['rad(180) - pi', 0],
    ['SQRT(9) + Max(1, 2)', 5],
    ['sqrt(max(9, 4) + min(16, 25))', 5],
  ])('%s = %p', (expression, expected) => {
    expect(value(expression)).toBe(expected)
  })

  it.each<[string, RegExp]>([
    ['sqrt(-1)', /^sqrt of a negative number is not a real number/],
    ['ln(0)', /^ln needs a positive number, got 0$/],
    ['log(-5)', /^log needs a positive number/],
    ['log(8, 1)', /^log needs a positive base other than 1/],
    ['log2(0)', /^log2 needs a positive number/],
    ['asin(2)', /^asin needs a number from -1 to 1, got 2$/],
    ['acos(-1.5)', /^acos needs a number from -1 to 1/],
    ['tan(pi / 2)', /^tan is undefined at/],
    ['gcd(1.5, 3)', /^gcd needs whole numbers, got 1.5$/],
    ['lcm(2, 0.5)', /^lcm needs whole numbers/],
    ['round(1, 0.5)', /^round needs a whole number of digits/],
    ['mod(1, 0)', /^division by zero/],
    ['(-8)^(1/3)', /not a real number \('\^' at 5; for roots of negatives use cbrt\)$/],
  ])('%s fails: %p', (expression, message) => {
    expect(error(expression)).toMatch(message)
  })

  it.each<[string, string]>([
    ['sqrt(1, 2)', 'sqrt needs 1 argument, got 2 (at 1)'],
    ['round(1, 2, 3)', 'round needs 1 or 2 arguments, got 3 (at 1)'],
    ['atan2(1)', 'atan2 needs 2 arguments, got 1 (at 1)'],
    ['max()', 'max needs at least 1 argument, got 0 (at 1)'],
    ['1 + avg()', 'avg needs at least 1 argument, got 0 (at 5)'],
    ['sqrt', 'sqrt is a function: write sqrt(…) (at 1)'],
    ['pi(2)', 'pi is a constant, not a function (at 1)'],
    ['foo(1)', 'unknown function foo at 1'],
    ['2 * x', 'unknown name x at 5 (constants: pi, e, tau)'],
  ])('%s fails: %s', (expression, message) => {
    expect(error(expression)).toBe(message)
  })
})

describe('calculate: arithmetic errors', () => {
  it.each<[string, string]>([
    ['1 / 0', 'division by zero at 3'],
    ['1 / (2 - 2)', 'division by zero at 3'],
    ['5 % 0', "division by zero ('%' by 0 at 3)"],
    ['0 ^ -1', "division by zero (0 to a negative power, '^' at 3)"],
    ['exp(1000)', 'the result is not a finite number (exp at 1)'],
    ['10 ^ 400', "the result is not a finite number ('^' at 4)"],
    ['1e308 * 10', "the result is not a finite number ('*' at 7)"],
    ['1e400', 'number too large at 1'],
  ])('%s fails: %s', (expression, message) => {
    expect(error(expression)).toBe(message)
  })

  it('checks intermediate results, not only the last one', () => {
    expect(error('1 / exp(1000)')).toMatch(/^the result is not a finite number/)
  })
})

describe('calculate: syntax errors say where', () => {
  it.each<[string, string]>([
    ['', 'empty expression'],
    ['   ', 'empty expression'],
    ['1 +', 'unexpected end of expression'],
    ['(1 + 2))', "unexpected ')' at 8"],
    [')', "unexpected ')' at 1"],
    ['(1 + 2', "missing ')' for the '(' at 1"],
    ['max(1, 2', "missing ')' for the '(' at 4"],
    ['1 * * 2', "unexpected '*' at 5"],
    ['2 ^ ^ 3', "unexpected '^' at 5"],
    ['1 + ()', "unexpected ')' at 6"],
    ['max(1,, 2)', "unexpected ',' at 7"],
    ['!3', "unexpected '!' at 1"],
    ['1,000', "unexpected ',' at 2 (commas only separate function arguments; no thousands separators)"],
    ['1_000', 'underscores are not allowed in numbers at 2'],
    ['1.2.3', "unexpected '.' at 4"],
    ['2 # 3', "unexpected character '#' at 3"],
    ['x = 1', "unexpected character '=' at 3"],
    ['1 = 1', "unexpected character '=' at 3"],
    ['"1"', "unexpected character '\"' at 1"],
    ['1\u0000', 'unexpected character U+0000 at 2'],
    ['Math.sqrt(4)', "unexpected character '.' at 5"],
    ['[1, 2]', "unexpected character '[' at 1"],
    ['`1`', "unexpected character '`' at 1"],
  ])('%p fails: %s', (expression, message) => {
    expect(error(expression)).toBe(message)
  })

  it.each<[string, string]>([
    ['2pi', "missing operator before 'pi' at 2"],
    ['2 pi', "missing operator before 'pi' at 3"],
    ['2(3)', "missing operator before '(' at 2"],
    ['(1)(2)', "missing operator before '(' at 4"],
    ['(1)2', "missing operator before '2' at 4"],
    ['3! 2', "missing operator before '2' at 4"],
    ['1 2', "missing operator before '2' at 3"],
  ])('refuses implicit multiplication: %s', (expression, message) => {
    expect(error(expression)).toBe(`${message} (implicit multiplication is not allowed: write '*')`)
  })
})

describe('calculate: limits', () => {
  it('accepts 1000 characters and refuses 1001', () => {
    expect(value('1+1'.padEnd(1000, ' '))).toBe(2)
    expect(error('1'.padEnd(1001, ' '))).toBe('expression too long (more than 1000 characters)')
  })

  it('refuses more than 500 tokens', () => {
    // 1+1+…: 250 ones and 249 pluses are 499 tokens; one more term is 501
    expect(value(Array(250).fill('1').join('+'))).toBe(250)
    expect(error(Array(251).fill('1').join('+'))).toBe('expression too long (more than 500 tokens)')
  })

  it('accepts 64 levels of parentheses and refuses 65', () => {
    expect(value('('.repeat(64) + '7' + ')'.repeat(64))).toBe(7)
    expect(error('('.repeat(65) + '7' + ')'.repeat(65))).toBe(
      'expression nested too deeply (more than 64 levels of parentheses)',
    )
  })

  it('counts function calls as nesting', () => {
    expect(value('abs('.repeat(64) + '-2' + ')'.repeat(64))).toBe(2)
    expect(error('abs('.repeat(32) + '('.repeat(33) + '1' + ')'.repeat(65))).toMatch(/^expression nested too deeply/)
  })

  it('handles long chains of signs and powers within the token limit', () => {
    expect(value('-'.repeat(400) + '1')).toBe(1)
    expect(value(Array(200).fill('1').join('^'))).toBe(1)
  })

  it('refuses an argument that is not a string', () => {
    expect(() => calculate(JSON.parse('{ "expression": 42 }'))).toThrow('expression must be a string')
  })
})

describe('calculate: no way out of the grammar', () => {
  it.each([
    'constructor',
    '__proto__',
    'prototype',
    'this',
    'globalThis',
    'eval',
    'Function',
    'process',
    'require',
    'toString',
    'hasOwnProperty',
    'valueOf',
  ])('%s is just an unknown name', (name) => {
    expect(error(name)).toBe(`unknown name ${name} at 1 (constants: pi, e, tau)`)
    expect(error(`${name}(1)`)).toBe(`unknown function ${name} at 1`)
  })

  it.each([
    'constructor.constructor("return process")()',
    'sqrt.constructor',
    'eval("1")',
    '(1).constructor',
    'pi["constructor"]',
    'this.process',
    'x => 1',
    'import("fs")',
  ])('refuses %s', (expression) => {
    expect(() => calculate({ expression })).toThrow(Error)
  })

  it('uses no eval, Function, with, imports or host globals', () => {
    const code = readFileSync(SOURCE, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '')
    for (const banned of [
      /\beval\b/,
      /\bFunction\s*\(/,
      /\bwith\s*\(/,
      /\bimport\b/,
      /\brequire\b/,
      /\bglobalThis\b/,
      /\bprocess\b/,
    ]) {
      expect(code).not.toMatch(banned)
    }
    expect(code).toMatch(/^export default function calculate\(/m)
  })
})
