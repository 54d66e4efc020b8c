/**
 * roster-seen.ts: which members joined, changed keys or left since this member's last contribution.
 */
import { mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from '@jest/globals'
import { loadGroupText, type Group } from '../../src/plugins/federation/group.js'
import { newMemberKeys } from '../../src/plugins/federation/secagg/index.js'
import { generateKeyPairSync } from 'node:crypto'
import { federationPaths } from '../../src/plugins/federation/paths.js'
import { rememberRoster, rosterChanges, rosterNotice } from '../../src/plugins/federation/roster-seen.js'

const signing = () =>
  Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' })).toString('base64')
const member = (id: string) => ({ id, signing_key: signing(), agreement_key: newMemberKeys().publicKey })
type Entry = ReturnType<typeof member>

function group(members: Entry[]): Group {
  const text = JSON.stringify({
    group: 'club',
    exchange: '.',
    vocabulary: { queryTypes: ['general'], chains: ['single'] },
    privacy: { mechanism: 'laplace', epsilon: 1, clip: 10, period_days: 30, budget: 4 },
    threshold: 2,
    members,
  })
  return loadGroupText(text, 'club.group.json')
}

describe('roster-seen', () => {
  it('first contribution: nothing to compare; then joined, changed keys and left are named', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-roster-'))
    const [a, b, c] = [member('a'), member('b'), member('c')]
    expect(await rosterChanges(home, group([a, b]))).toEqual({ first: true, added: [], rekeyed: [], removed: [] })
    await rememberRoster(home, group([a, b]))
    expect(await rosterChanges(home, group([a, b]))).toEqual({ first: false, added: [], rekeyed: [], removed: [] })
    expect(rosterNotice(await rosterChanges(home, group([a, b])))).toBeUndefined()

    const b2 = { ...member('b') }
    const changes = await rosterChanges(home, group([b2, c]))
    expect(changes).toEqual({ first: false, added: ['c'], rekeyed: ['b'], removed: ['a'] })
    expect(rosterNotice(changes)).toMatch(/1 joined \(c\); 1 changed keys \(b\); 1 left \(a\)\. If you do not know/)
    // ids and key fingerprints only, private
    const file = federationPaths(home).rosterSeen
    expect(Object.keys(JSON.parse(readFileSync(file, 'utf8')).members)).toEqual(['a', 'b'])
    expect(readFileSync(file, 'utf8')).not.toContain(a.signing_key)
  })
})
