/** The allow/deny list: by name, by name and integrity, an allow list that admits only what it lists. */
import { describe, expect, it } from '@jest/globals'
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { isAllowed, loadRefusal, policyRefusal, readPolicy } from '../../src/plugin-store/policy.js'

const A = 'sha512-AAAA'
const B = 'sha512-BBBB'

function home(policy: unknown, lock?: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-policy-'))
  mkdirSync(path.join(dir, 'plugins'))
  writeFileSync(path.join(dir, 'plugins', 'policy.json'), typeof policy === 'string' ? policy : JSON.stringify(policy))
  if (lock) writeFileSync(path.join(dir, 'plugins', 'plugins.lock.json'), JSON.stringify(lock))
  return dir
}

describe('plugin allow/deny list', () => {
  it('with no policy file everything is allowed', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-policy-'))
    expect(isAllowed('anything', A, dir)).toBe(true)
    expect(loadRefusal('anything', dir)).toBeUndefined()
  })

  it('denies by name (every version) and by name and integrity (that content only)', () => {
    const h = home({ deny: [{ name: 'evil' }, { name: 'flaky', integrity: A }] })
    expect(isAllowed('evil', B, h)).toBe(false)
    expect(isAllowed('evil', undefined, h)).toBe(false)
    expect(isAllowed('flaky', A, h)).toBe(false)
    expect(isAllowed('flaky', B, h)).toBe(true)
    expect(isAllowed('other', A, h)).toBe(true)
  })

  it('an allow list admits only what it lists; deny wins over allow', () => {
    const policy = readPolicy(
      path.join(home({ allow: [{ name: 'good', integrity: A }, { name: 'any' }] }), 'plugins', 'policy.json'),
    )
    expect(policyRefusal(policy, 'good', A)).toBeUndefined()
    expect(policyRefusal(policy, 'good', B)).toBe('good (sha512-BBBB…) is not on the allow list')
    expect(policyRefusal(policy, 'any', B)).toBeUndefined()
    expect(policyRefusal(policy, 'stranger', A)).toBe('stranger (sha512-AAAA…) is not on the allow list')
    expect(policyRefusal({ ...policy, deny: [{ name: 'any' }] }, 'any', B)).toBe('any is on the deny list')
  })

  it('loading judges an installed plugin by the integrity its lock entry pins', () => {
    const h = home(
      { allow: [{ name: 'pinned', integrity: A }] },
      { lockfileVersion: 1, plugins: { pinned: { integrity: B } } },
    )
    expect(loadRefusal('pinned', h)).toBe('pinned (sha512-BBBB…) is not on the allow list')
    const ok = home(
      { allow: [{ name: 'pinned', integrity: A }] },
      { lockfileVersion: 1, plugins: { pinned: { integrity: A } } },
    )
    expect(loadRefusal('pinned', ok)).toBeUndefined()
  })

  it('a malformed policy file is an error that names it', () => {
    expect(() => isAllowed('x', A, home('{ nope'))).toThrow(/policy\.json is not valid JSON/)
    expect(() => isAllowed('x', A, home({ deny: ['evil'] }))).toThrow(/"deny" must be a list of \{ "name"/)
  })
})
