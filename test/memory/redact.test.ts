import { describe, expect, it } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { backtrackingRisk, compilePattern, luhn, redact } from '../../src/plugins/memory/redact.js'

/** [input, expected text, kinds found] */
const CAUGHT: [string, string, string[]][] = [
  ['my key is sk-proj-abc123DEF456ghi789JKL012mno345', 'my key is [REDACTED:API_KEY]', ['API_KEY']],
  ['OPENAI: sk-AbCdEf0123456789AbCdEf0123456789AbCdEf0123456789', 'OPENAI: [REDACTED:API_KEY]', ['API_KEY']],
  ['anthropic sk-ant-api03-abcDEF123_456ghi-789JKLmno012pqr', 'anthropic [REDACTED:API_KEY]', ['API_KEY']],
  ['stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc', 'stripe [REDACTED:API_KEY]', ['API_KEY']],
  ['token ghp_1234567890abcdefghijABCDEFGHIJ123456 works', 'token [REDACTED:API_KEY] works', ['API_KEY']],
  ['github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123', '[REDACTED:API_KEY]', ['API_KEY']],
  ['slack xoxb-1234567890-abcdefghij', 'slack [REDACTED:API_KEY]', ['API_KEY']],
  ['AWS AKIAIOSFODNN7EXAMPLE here', 'AWS [REDACTED:API_KEY] here', ['API_KEY']],
  ['google AIzaSyD-1234567890abcdefghijklmnopqrstu', 'google [REDACTED:API_KEY]', ['API_KEY']],
  ['gitlab glpat-xxXXxx1234567890abcd', 'gitlab [REDACTED:API_KEY]', ['API_KEY']],
  [
    'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
    'jwt [REDACTED:JWT]',
    ['JWT'],
  ],
  ['Authorization: Bearer abcdef0123456789abcdef', 'Authorization: Bearer [REDACTED:TOKEN]', ['TOKEN']],
  ['password=hunter2', 'password=[REDACTED:PASSWORD]', ['PASSWORD']],
  ['DB_PASSWORD: "s3cr3t pass!"', 'DB_PASSWORD: "[REDACTED:PASSWORD]"', ['PASSWORD']],
  ['login with passwd = letmein please', 'login with passwd = [REDACTED:PASSWORD] please', ['PASSWORD']],
  ["pwd: 'Tr0ub4dor&3'", "pwd: '[REDACTED:PASSWORD]'", ['PASSWORD']],
  ['dbpassword=abc123', 'dbpassword=[REDACTED:PASSWORD]', ['PASSWORD']],
  ['PG_PASS=qwerty', 'PG_PASS=[REDACTED:PASSWORD]', ['PASSWORD']],
  [
    '{"api_key": "abcd1234", "apikey":"zz"}',
    '{"api_key": "[REDACTED:SECRET]", "apikey":"[REDACTED:SECRET]"}',
    ['SECRET'],
  ],
  ['export OPENAI_API_KEY=foo123', 'export OPENAI_API_KEY=[REDACTED:SECRET]', ['SECRET']],
  ['client_secret: abc.def-ghi', 'client_secret: [REDACTED:SECRET]', ['SECRET']],
  ['X-Api-Key: 0123abcd', 'X-Api-Key: [REDACTED:SECRET]', ['SECRET']],
  ['token=abc', 'token=[REDACTED:SECRET]', ['SECRET']],
  ['my github token is 3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a', 'my github token is [REDACTED:SECRET]', ['SECRET']],
  ['the secret was dGhpcyBpcyBhIHNlY3JldCBrZXkgMTIzNDU2Nzg5MA==', 'the secret was [REDACTED:SECRET]', ['SECRET']],
  [
    'postgres://admin:pa55w0rd@db.example.com:5432/app',
    'postgres://admin:[REDACTED:PASSWORD]@db.example.com:5432/app',
    ['PASSWORD'],
  ],
  ['card 4111 1111 1111 1111 ok', 'card [REDACTED:CARD] ok', ['CARD']],
  ['amex 3782-822463-10005', 'amex [REDACTED:CARD]', ['CARD']],
  ['pay with 4012888888881881.', 'pay with [REDACTED:CARD].', ['CARD']],
  ['mastercard 5555 5555 5555 4444', 'mastercard [REDACTED:CARD]', ['CARD']],
  ['mail me at john.doe+x@mail.example.co.uk. thanks', 'mail me at [REDACTED:EMAIL]. thanks', ['EMAIL']],
  ['<Ana@Example.ORG>', '<[REDACTED:EMAIL]>', ['EMAIL']],
  [
    '-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n+def/==\n-----END RSA PRIVATE KEY-----',
    '[REDACTED:PRIVATE_KEY]',
    ['PRIVATE_KEY'],
  ],
  [
    'write to a@b.io with password: x1 and card 4111111111111111',
    'write to [REDACTED:EMAIL] with password: [REDACTED:PASSWORD] and card [REDACTED:CARD]',
    ['PASSWORD', 'CARD', 'EMAIL'],
  ],
]

/** text that looks a little like a secret and must come through unchanged */
const SURVIVES: string[] = [
  'order number 1234567890123456 shipped', // 16 digits, fails Luhn
  'order 4111 1111 1111 1112', // card-shaped, fails Luhn
  'timestamp 1718000000000 ms', // 13 digits, starts with 1
  'call +49 151 23456789 tomorrow',
  'ISBN 978-3-16-148410-0',
  'on 2024-06-01 at 12:30:45',
  'version v1.2.3, node 20.11.1, python==3.11.4',
  'npm install @scope/name@1.2.3',
  'host 192.168.100.200 port 8080',
  'pi is 3.14159265358979323846',
  'the sum is 12,345,678,901,234.56',
  'max_tokens: 512 and token_count=3 and tokens: many',
  'compass: north, bypass: true',
  'the password policy requires 12 characters',
  'a risk-assessment-framework-for-large-projects',
  'scikit-learn sk-learn-style-hyphenated-words-here',
  'the key idea is reproducibility_and_transparency_in_all_experiments',
  'primary key: id',
  'email me later, or @alice on chat',
  'user@localhost is not an address here',
  'git commit 9fceb02d0ae598e95dc970b74767f19372d61af8 landed', // a hash, not after a telling word
  'password: [REDACTED:PASSWORD]', // already redacted: idempotent
  'password=${DB_PASSWORD} and token: <your token>',
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl', // a public key
]

describe('redact', () => {
  it.each(CAUGHT)('catches %j', (input, expected, kinds) => {
    const r = redact(input)
    expect(r.text).toBe(expected)
    expect(r.found.map((f) => f.kind).sort()).toEqual([...kinds].sort())
  })

  it.each(SURVIVES.map((s) => [s]))('leaves %j alone', (input) => {
    expect(redact(input)).toEqual({ text: input, found: [] })
  })

  it('has a table large enough to mean something', () => {
    expect(CAUGHT.length + SURVIVES.length).toBeGreaterThanOrEqual(25)
    expect(new Set(CAUGHT.flatMap((c) => c[2]))).toEqual(
      new Set(['API_KEY', 'JWT', 'TOKEN', 'PASSWORD', 'SECRET', 'CARD', 'EMAIL', 'PRIVATE_KEY']),
    )
  })

  it('counts per kind and is idempotent', () => {
    const r = redact('a@b.io c@d.io password=1 4111111111111111')
    expect(r.found).toEqual([
      { kind: 'PASSWORD', count: 1 },
      { kind: 'CARD', count: 1 },
      { kind: 'EMAIL', count: 2 },
    ])
    expect(redact(r.text)).toEqual({ text: r.text, found: [] })
  })

  it('luhn', () => {
    expect(luhn('4111111111111111')).toBe(true)
    expect(luhn('4111111111111112')).toBe(false)
    expect(luhn('79927398713')).toBe(true)
  })
})

describe('configured patterns', () => {
  it('strings, /source/flags strings and RegExps; a `secret` group limits the replacement', () => {
    const r = redact('employee-id: 123456, project ACME-0042 and acme-0043, case 123456', [
      '/employee-id: (?<secret>\\d{6})/',
      'ACME-\\d{4}',
      /case \d+/,
    ])
    expect(r.text).toBe('employee-id: [REDACTED:CUSTOM], project [REDACTED:CUSTOM] and acme-0043, [REDACTED:CUSTOM]')
    expect(r.found).toEqual([{ kind: 'CUSTOM', count: 3 }])
    expect(redact('ACME-1 acme-2', ['/acme-\\d/i']).text).toBe('[REDACTED:CUSTOM] [REDACTED:CUSTOM]')
  })

  it.each([
    ['(', /not a valid regular expression/],
    ['\\d*', /matches the empty text/],
    ['(a+)+$', /repeats a group that itself contains a repetition/],
    ['(\\w+\\s?)*x', /repeats a group that itself contains a repetition/],
    ['(a|ab)*c', /contains alternatives/],
    ['(x)\\1', /back-reference/],
    ['x'.repeat(501), /limit is 500/],
    ['/abc/q', /unsupported flag "q"/],
    ['', /is empty/],
  ])('refuses %j with a clear CONFIG_INVALID', (pattern, why) => {
    let err: unknown
    try {
      redact('text', [pattern])
    } catch (e) {
      err = e
    }
    expect(MiradorError.is(err, 'CONFIG_INVALID')).toBe(true)
    expect((err as Error).message).toMatch(why)
    expect((err as Error).message).toContain('redaction pattern')
  })

  it('accepts ordinary bounded patterns', () => {
    for (const p of ['(foo|bar)-\\d{1,8}', '[a-z]+@corp', '(?:ab){1,3}', '(?<secret>\\d{4})-x', '[(+*)]{2}'])
      expect(backtrackingRisk(p)).toBeUndefined()
    expect(() => compilePattern('/(?:x|y){2,5}z/i')).not.toThrow()
  })

  it('a pattern that slips past the check but backtracks is stopped by the time budget', () => {
    const t0 = performance.now()
    let err: unknown
    try {
      redact('1'.repeat(5000), ['\\d+\\d+\\d+\\d+\\d+x'], { timeoutMs: 150 })
    } catch (e) {
      err = e
    }
    expect(performance.now() - t0).toBeLessThan(2000)
    expect(MiradorError.is(err, 'CONFIG_INVALID')).toBe(true)
    expect((err as Error).message).toMatch(/took over 150 ms/)
  })
})

describe('backtracking', () => {
  // long adversarial inputs built from each pattern's own prefix; each must stay roughly linear
  it.each([
    '-----BEGIN PRIVATE KEY-----',
    'key ',
    'token aB3',
    'password=',
    'password: "',
    'a@',
    'a.',
    'a@b.',
    'x'.repeat(60) + '@',
    '4 ',
    '4-',
    '4111 ',
    'eyJ',
    'eyJabcde.',
    'sk-',
    'sk-a1',
    'Bearer ',
    'http://u:',
    'a_b.',
  ])('%j repeated to 200 kB stays fast', (unit) => {
    const text = unit.repeat(Math.ceil(200_000 / unit.length))
    const t0 = performance.now()
    redact(text)
    expect(performance.now() - t0).toBeLessThan(1500)
  })
})
