/**
 * membership.json and joining the shared group file: ids from keys, the group file rewritten with
 * its comments kept, idempotent joins, taken ids refused, and loadMembership's checks.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import { loadGroupFile } from '../../src/plugins/federation/group.js'
import { loadOrCreateMemberKeys } from '../../src/plugins/federation/member-keys.js'
import {
  addMemberToGroupFile,
  exchangeOf,
  loadMembership,
  memberEntry,
  memberIdOf,
  writeMembership,
} from '../../src/plugins/federation/membership.js'
import { federationPaths } from '../../src/plugins/federation/paths.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mirador-membership-'))
})
afterAll(async () => rm(dir, { recursive: true, force: true }))

async function member(name: string) {
  const home = path.join(dir, name)
  const keys = await loadOrCreateMemberKeys(home)
  return { home, keys, entry: memberEntry(memberIdOf(keys), keys) }
}

const groupText = (first: { id: string; signing_key: string; agreement_key: string }) =>
  [
    '# yaml-language-server: $schema=../schemas/federation-group.schema.json',
    '# the garden club: ask Ana before changing the vocabulary',
    'group: garden-club',
    'exchange: /srv/sync/garden-club # synced with Syncthing',
    'vocabulary:',
    '  queryTypes: [code, general]',
    '  chains: [quick-deep, solo]',
    'privacy:',
    '  mechanism: laplace',
    '  epsilon: 1',
    '  clip: 10',
    '  period_days: 30',
    '  budget: 4',
    'threshold: 2',
    'members:',
    `  - id: ${first.id} # the founder`,
    `    signing_key: ${first.signing_key}`,
    `    agreement_key: ${first.agreement_key}`,
    '',
  ].join('\n')

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (err) {
    if (MiradorError.is(err)) return `${err.code}: ${err.message}`
    throw err
  }
  throw new Error('expected an error')
}

describe('membership', () => {
  it('ids are m- and 8 hex digits of the signing key, the same for the same keys', async () => {
    const a = await member('id-a')
    expect(a.entry.id).toMatch(/^m-[0-9a-f]{8}$/)
    expect(memberIdOf(await loadOrCreateMemberKeys(a.home))).toBe(a.entry.id)
    expect((await member('id-b')).entry.id).not.toBe(a.entry.id)
  })

  it('adds members to the group file keeping its comments; again is a no-op; a taken id is refused', async () => {
    const [ana, ben, cy] = [await member('ana'), await member('ben'), await member('cy')]
    const file = path.join(dir, 'garden.group.yaml')
    await writeFile(file, groupText(ana.entry), { mode: 0o640 })
    expect(await addMemberToGroupFile(file, ben.entry)).toBe(true)
    expect(await addMemberToGroupFile(file, ben.entry)).toBe(false)
    const text = await readFile(file, 'utf8')
    expect(text).toContain('# the garden club: ask Ana before changing the vocabulary')
    expect(text).toContain('# synced with Syncthing')
    expect(text).toContain('# the founder')
    expect(text.startsWith('# yaml-language-server: $schema=')).toBe(true)
    expect((await stat(file)).mode & 0o777).toBe(0o640)
    const g = await loadGroupFile(file)
    expect(g.value.members.map((m) => m.id)).toEqual([ana.entry.id, ben.entry.id])

    expect(await code(addMemberToGroupFile(file, { ...cy.entry, id: ben.entry.id }))).toMatch(
      /^FEDERATION_MEMBERSHIP: .*the member id m-\w+ is taken by other keys; choose another with --id NAME/,
    )
    expect(await code(addMemberToGroupFile(file, { ...ben.entry, id: 'ben' }))).toMatch(
      /your keys are listed already, as member m-\w+; join with --id m-\w+/,
    )
    // nothing was written by the refused joins
    expect(await readFile(file, 'utf8')).toBe(text)
  })

  it('joins at the same moment all land', async () => {
    const founder = await member('race-0')
    const file = path.join(dir, 'race.group.yaml')
    await writeFile(file, groupText(founder.entry))
    const others = await Promise.all([1, 2, 3, 4, 5].map((i) => member(`race-${i}`)))
    await Promise.all(others.map((o) => addMemberToGroupFile(file, o.entry)))
    const ids = (await loadGroupFile(file)).value.members.map((m) => m.id).sort()
    expect(ids).toEqual([founder, ...others].map((o) => o.entry.id).sort())
  })

  it('loadMembership: not a member, a member, a member whose entry was removed', async () => {
    const dora = await member('dora')
    expect(await code(loadMembership(dora.home))).toBe(
      'FEDERATION_MEMBERSHIP: this Mirador is not in a federation group; run `mirador federation init GROUP ' +
        '--exchange …` or `mirador federation join GROUP_FILE`',
    )
    const file = path.join(dir, 'dora.group.yaml')
    await writeFile(file, groupText(dora.entry))
    await writeMembership(dora.home, { groupFile: path.relative(process.cwd(), file), member: dora.entry.id })
    expect((await stat(federationPaths(dora.home).membership)).mode & 0o777).toBe(0o600)
    const m = await loadMembership(dora.home)
    expect(m).toMatchObject({ home: dora.home, groupFile: file, member: dora.entry.id })
    expect(m.group.group).toBe('garden-club')
    expect(m.keys.signing.public).toBe(dora.entry.signing_key)
    expect(m.exchange).toBe('/srv/sync/garden-club')
    // a relative folder is the group file's own folder (or below it), wherever the member's copy is
    const g = { file: 'rel/garden.yaml', value: { ...m.group.value, exchange: '.' } }
    expect(exchangeOf(g)).toBe(path.resolve('rel'))
    expect(exchangeOf({ ...g, value: { ...g.value, exchange: 'dir:rounds' } })).toBe(path.resolve('rel/rounds'))
    expect(exchangeOf({ ...g, value: { ...g.value, exchange: 'git+file:///srv/g.git' } })).toBe('git+file:///srv/g.git')

    const other = await member('dora-other')
    await writeFile(file, groupText(other.entry))
    expect(await code(loadMembership(dora.home))).toMatch(
      /does not list you \(m-\w+\) any more; run `mirador federation join/,
    )
    await writeFile(file, groupText({ ...other.entry, id: dora.entry.id }))
    expect(await code(loadMembership(dora.home))).toMatch(/lists m-\w+ with other keys than yours/)
    await rm(federationPaths(dora.home).keys, { recursive: true })
    expect(await code(loadMembership(dora.home))).toMatch(/your federation keys \(.*\) are gone: restore them/)
    expect(existsSync(federationPaths(dora.home).keys)).toBe(false) // none made in their place
  })
})
