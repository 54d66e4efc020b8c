/**
 * The group file (validated like Mirador's other YAML files, errors at file:line:column) and this
 * member's keys under $MIRADOR_HOME/keys/federation/.
 */
import { generateKeyPairSync } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { makeBundle, newSeen, verifyBundle } from '../../src/plugins/federation/bundle.js'
import { roundParams } from '../../src/plugins/federation/dp.js'
import { loadGroupFile, loadGroupText } from '../../src/plugins/federation/group.js'
import { rawPublicKey } from '../../src/plugins/federation/keys.js'
import { loadOrCreateMemberKeys, memberKeysDir } from '../../src/plugins/federation/member-keys.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirador-group-'))
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

const pub = (t: 'ed25519' | 'x25519') =>
  rawPublicKey(t === 'ed25519' ? generateKeyPairSync('ed25519').publicKey : generateKeyPairSync('x25519').publicKey)
const [s1, s2, a1, a2] = [pub('ed25519'), pub('ed25519'), pub('x25519'), pub('x25519')]

const groupYaml = (over: { privacy?: string; threshold?: number; members?: string } = {}) =>
  [
    'group: garden-club',
    'exchange: /srv/sync/garden-club',
    'vocabulary:',
    '  queryTypes: [code, general]',
    '  chains: [quick-deep, solo]',
    'privacy:',
    over.privacy ?? '  mechanism: laplace\n  epsilon: 1\n  clip: 10\n  period_days: 30\n  budget: 4',
    `threshold: ${over.threshold ?? 2}`,
    'members:',
    over.members ??
      `  - id: alice\n    signing_key: ${s1}\n    agreement_key: ${a1}\n` +
        `  - id: bob\n    signing_key: ${s2}\n    agreement_key: ${a2}`,
    '',
  ].join('\n')

function problem(text: string): MiradorError {
  try {
    loadGroupText(text, 'garden.yaml')
  } catch (err) {
    if (MiradorError.is(err)) return err
    throw err
  }
  throw new Error('expected the group file to be refused')
}

describe('group file', () => {
  it('loads a valid file: vocabulary, privacy parameters, budget policy', async () => {
    const file = path.join(dir, 'garden.yaml')
    await writeFile(file, groupYaml())
    const g = await loadGroupFile(file)
    expect(g.group).toBe('garden-club')
    expect(g.vocabulary).toEqual({ queryTypes: ['code', 'general'], chains: ['quick-deep', 'solo'] })
    expect(g.params).toEqual({
      mechanism: 'laplace',
      epsilon: 1,
      delta: 0,
      clip: 10,
      norm: 'l1',
      sensitivity: 10,
      shares: 1,
    })
    expect(g.policy).toEqual({ budget: 4, periodDays: 30 })
    // its members are the roster bundles are checked against
    const { privateKey } = generateKeyPairSync('ed25519')
    const forged = makeBundle(
      { group: 'garden-club', round: 'r1', member: 'alice', params: g.params, payload: 0 },
      privateKey,
    )
    expect(verifyBundle(forged, { group: g.group, members: g.value.members }, 'r1', newSeen())).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    })
  })

  it('a schema error names file:line:column', () => {
    const err = problem(
      groupYaml({ privacy: '  mechanism: laplace\n  epsilon: 9\n  clip: 10\n  period_days: 30\n  budget: 4' }),
    )
    expect(err.code).toBe('CONFIG_INVALID')
    expect(err.location).toEqual({ file: 'garden.yaml', line: 8, column: 12 })
    expect(err.format()).toMatch(/^garden\.yaml:8:12: .*epsilon/)
  })

  it('an unknown key is refused at its position', () => {
    const err = problem(groupYaml() + 'admin: mallory\n')
    expect(err.code).toBe('CONFIG_INVALID')
    expect(err.location?.line).toBe(20)
  })

  it('a member listed twice, a key that is not one: at the offending value; a threshold above the group loads', () => {
    const twice = problem(
      groupYaml({
        members:
          `  - id: alice\n    signing_key: ${s1}\n    agreement_key: ${a1}\n` +
          `  - id: alice\n    signing_key: ${s2}\n    agreement_key: ${a2}`,
      }),
    )
    expect(twice.message).toMatch(/alice is listed twice/)
    expect(twice.location).toMatchObject({ line: 17, column: 9 })

    // an X25519 key (SPKI, which names its type) where the Ed25519 signing key belongs
    const spki = generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
    const wrongKind = problem(
      groupYaml({
        members:
          `  - id: alice\n    signing_key: ${spki}\n    agreement_key: ${a2}\n` +
          `  - id: bob\n    signing_key: ${s2}\n    agreement_key: ${pub('x25519')}`,
      }),
    )
    expect(wrongKind.message).toMatch(/alice's signing_key: a x25519 key where an ed25519 key belongs/)
    expect(wrongKind.location).toMatchObject({ line: 15, column: 18 })

    // the threshold is a minimum (a round's t is at least it): a group smaller than it still loads
    const one = `  - id: alice\n    signing_key: ${s1}\n    agreement_key: ${a1}`
    expect(loadGroupText(groupYaml({ threshold: 3, members: one }), 'garden.yaml').value.threshold).toBe(3)
  })

  it('privacy parameters the mechanism cannot take, and a budget below one contribution', () => {
    const laplaceDelta = problem(
      groupYaml({
        privacy: '  mechanism: laplace\n  epsilon: 1\n  delta: 0.00001\n  clip: 10\n  period_days: 30\n  budget: 4',
      }),
    )
    expect(laplaceDelta.message).toMatch(/Laplace mechanism has no delta/)
    expect(laplaceDelta.location?.line).toBe(9)
    const budget = problem(
      groupYaml({ privacy: '  mechanism: laplace\n  epsilon: 2\n  clip: 10\n  period_days: 30\n  budget: 1' }),
    )
    expect(budget.message).toMatch(/less than one contribution/)
    expect(budget.location?.line).toBe(11)
    const base = '  mechanism: laplace\n  epsilon: 1\n  clip: 10\n  period_days: 30\n  budget: 4\n'
    // the noise is split among a round's t contributions unless the group asks for local noise
    const distributed = loadGroupText(groupYaml({ privacy: base }), 'g.yaml')
    expect(distributed.noise).toBe('distributed')
    expect(distributed.params.shares).toBe(1)
    expect(roundParams(distributed, 7)).toMatchObject({ mechanism: 'laplace', shares: 7 })
    const local = loadGroupText(groupYaml({ privacy: base + '  noise: local' }), 'g.yaml')
    expect(roundParams(local, 7).shares).toBe(1)
    const unknown = problem(groupYaml({ privacy: base + '  noise: shared' }))
    expect(unknown.code).toBe('CONFIG_INVALID')
    expect(unknown.location?.line).toBe(12)
    expect(problem(groupYaml({ privacy: base + '  noise_shares: 2' })).location?.line).toBe(12)
  })

  it('a YAML syntax error names its position', () => {
    const err = problem('group: [garden\nexchange: x\n')
    expect(err.code).toBe('CONFIG_SYNTAX')
    expect(err.location?.file).toBe('garden.yaml')
  })
})

describe('member keys', () => {
  it('are created once, private, and the same on the next load', async () => {
    const home = await mkdtemp(path.join(os.tmpdir(), 'mirador-fedkeys-'))
    try {
      const [a, b] = await Promise.all([loadOrCreateMemberKeys(home), loadOrCreateMemberKeys(home)])
      expect(a.signing.public).toBe(b.signing.public)
      const again = await loadOrCreateMemberKeys(home)
      expect(again.signing.public).toBe(a.signing.public)
      expect(again.agreement.public).toBe(a.agreement.public)
      expect(a.signing.privateKey.asymmetricKeyType).toBe('ed25519')
      expect(a.agreement.privateKey.asymmetricKeyType).toBe('x25519')
      const kdir = memberKeysDir(home)
      expect((await stat(kdir)).mode & 0o777).toBe(0o700)
      const signing = path.join(kdir, 'signing.pem')
      expect((await stat(signing)).mode & 0o777).toBe(0o600)
      expect(await readFile(signing, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/)
      // a key others can read is refused with the fix
      await chmod(signing, 0o644)
      await expect(loadOrCreateMemberKeys(home)).rejects.toThrow(/chmod 600/)
      // a damaged key says what to do
      await chmod(signing, 0o600)
      await writeFile(signing, 'not a key')
      const err = await loadOrCreateMemberKeys(home).catch((e: unknown) => e)
      expect(MiradorError.is(err, 'FEDERATION_KEYS')).toBe(true)
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})
