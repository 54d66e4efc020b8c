/**
 * Bundles and round results: signed, committed, and every kind of bad bundle rejected with its
 * reason; Merkle proofs of inclusion.
 */
import { createHash, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from '@jest/globals'
import { MiradorError } from '../../src/engine/errors.js'
import {
  assertBundle,
  commitmentOf,
  makeBundle,
  newSeen,
  verifyBundle,
  type Bundle,
  type Roster,
} from '../../src/plugins/federation/bundle.js'
import { privacyParams, privatize } from '../../src/plugins/federation/dp.js'
import { rawPublicKey } from '../../src/plugins/federation/keys.js'
import { inclusionProof, merkleRoot, verifyInclusion } from '../../src/plugins/federation/merkle.js'
import { makeResult, proofOf, verifyResult, wasCounted } from '../../src/plugins/federation/result.js'

const member = (id: string) => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  return { id, privateKey, signing_key: rawPublicKey(publicKey) }
}
const alice = member('alice')
const bob = member('bob')
const eve = member('eve') // not in the group
const roster: Roster = { group: 'garden-club', members: [alice, bob] }
const params = privacyParams()

const bundleOf = (m: typeof alice, round = 'r1', payload: Bundle['payload'] = { masked: [1.5, -2.25, 3] }) =>
  makeBundle({ group: 'garden-club', round, member: m.id, params, payload }, m.privateKey)

const reasonOf = (b: unknown, seen = newSeen(), round = 'r1') => {
  const v = verifyBundle(b, roster, round, seen)
  return v.ok ? 'ok' : v.reason
}

describe('bundles', () => {
  it('a valid bundle verifies, and its commitment is the sha256 of its canonical JSON', () => {
    const b = bundleOf(alice)
    const v = verifyBundle(b, roster, 'r1', newSeen())
    expect(v).toEqual({ ok: true, commitment: commitmentOf(b) })
    expect(commitmentOf(b)).toMatch(/^[0-9a-f]{64}$/)
    // key order does not change the commitment (canonical JSON)
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(b).reverse()))) as Bundle
    expect(commitmentOf(reordered)).toBe(commitmentOf(b))
  })

  it('rejects each bad bundle with its reason', () => {
    const b = bundleOf(alice)
    const { signature: _s, ...unsigned } = b
    expect(reasonOf(unsigned)).toBe('unsigned')
    expect(reasonOf({ ...b, payload: { masked: [1.5, -2.25, 4] } })).toBe('bad-signature') // tampered payload
    expect(reasonOf({ ...b, params: { ...b.params, epsilon: 5 } })).toBe('bad-signature') // tampered params
    expect(reasonOf({ ...b, member: 'bob' })).toBe('bad-signature') // alice's bundle passed off as bob's
    expect(reasonOf(bundleOf(eve))).toBe('foreign')
    // eve signs a bundle claiming to be bob: bob's key does not verify it
    expect(
      reasonOf(makeBundle({ group: 'garden-club', round: 'r1', member: 'bob', params, payload: 1 }, eve.privateKey)),
    ).toBe('bad-signature')
    expect(reasonOf(bundleOf(alice, 'r0'))).toBe('out-of-round') // last round's bundle copied into this one
    expect(
      reasonOf(makeBundle({ group: 'other', round: 'r1', member: 'alice', params, payload: 1 }, alice.privateKey)),
    ).toBe('out-of-round')
    expect(reasonOf({ v: 1, group: 'garden-club' })).toBe('malformed')
    expect(reasonOf({ ...b, note: 'hello' })).toBe('malformed')

    const seen = newSeen()
    expect(reasonOf(b, seen)).toBe('ok')
    expect(reasonOf(b, seen)).toBe('replay')
    expect(reasonOf(bundleOf(alice), seen)).toBe('duplicate') // a second bundle from alice
    expect(reasonOf(bundleOf(bob), seen)).toBe('ok')
  })

  it('assertBundle throws FEDERATION_BUNDLE naming the reason', () => {
    let err: unknown
    try {
      assertBundle(bundleOf(eve), roster, 'r1', newSeen())
    } catch (e) {
      err = e
    }
    expect(MiradorError.is(err, 'FEDERATION_BUNDLE')).toBe(true)
    expect((err as MiradorError).details?.reason).toBe('foreign')
    expect((err as MiradorError).message).toMatch(/eve is not a member of garden-club/)
  })

  it('holds nothing but the expected keys, and no text beyond ids, a time and base64', () => {
    const noised = privatize([3, 0, 1, 2], params)
    const b = bundleOf(alice, 'r1', { masked: noised })
    const json = JSON.parse(JSON.stringify(b)) as Record<string, unknown>
    expect(Object.keys(json).sort()).toEqual([
      'created',
      'group',
      'member',
      'params',
      'payload',
      'round',
      'signature',
      'v',
    ])
    expect(Object.keys(json.params as object).sort()).toEqual([
      'clip',
      'delta',
      'epsilon',
      'mechanism',
      'norm',
      'sensitivity',
      'shares',
    ])
    // every string in the bundle is one of the known fields' values
    const strings: string[] = []
    const walk = (x: unknown): void => {
      if (typeof x === 'string') strings.push(x)
      else if (Array.isArray(x)) x.forEach(walk)
      else if (x && typeof x === 'object') Object.values(x).forEach(walk)
    }
    walk(json.payload)
    expect(strings).toEqual([])
    expect((json.payload as { masked: unknown[] }).masked.every((x) => typeof x === 'number')).toBe(true)
    expect(json.created).toMatch(/^\d{4}-\d\d-\d\dT/)
  })
})

describe('Merkle tree', () => {
  const commitments = Array.from({ length: 7 }, (_, i) => commitmentOf(bundleOf(i % 2 ? alice : bob, `r${i}`)))

  it.each([1, 2, 3, 4, 5, 7])('every leaf of a tree of %i proves its inclusion; a changed leaf does not', (n) => {
    const leaves = commitments.slice(0, n)
    const root = merkleRoot(leaves)
    expect(merkleRoot([...leaves].reverse())).toBe(root) // the tree of a set
    for (const c of leaves) {
      const proof = inclusionProof(leaves, c)
      expect(verifyInclusion(c, proof, root)).toBe(true)
      const changed = (c[0] === '0' ? '1' : '0') + c.slice(1)
      expect(verifyInclusion(changed, proof, root)).toBe(false)
      if (proof.length) {
        const bent = proof.map((s, i) => (i === 0 ? { ...s, hash: changed } : s))
        expect(verifyInclusion(c, bent, root)).toBe(false)
      }
    }
  })

  it('is built as documented: domain-separated leaves and nodes, an odd node promoted (not duplicated)', () => {
    const [a, b, c] = commitments.slice(0, 3).sort() as [string, string, string]
    const h = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest()
    const leaf = (x: string) => h(Buffer.from([0]), Buffer.from(x, 'hex'))
    const node = (l: Buffer, r: Buffer) => h(Buffer.from([1]), l, r)
    expect(merkleRoot([a, b, c])).toBe(node(node(leaf(a), leaf(b)), leaf(c)).toString('hex'))
    expect(inclusionProof([a, b, c], c)).toHaveLength(1) // promoted: its only sibling is the pair (a, b)
    expect(merkleRoot([a])).toBe(leaf(a).toString('hex'))
    expect(merkleRoot([])).toBe(h(Buffer.from([2])).toString('hex'))
  })

  it('refuses a commitment outside the round', () => {
    expect(() => inclusionProof(commitments.slice(0, 3), commitments[5]!)).toThrow(/not among/)
  })
})

describe('round results', () => {
  const a = bundleOf(alice)
  const b = bundleOf(bob)
  const commitments = [commitmentOf(a), commitmentOf(b)]

  it('a signed result verifies, and each member proves its bundle was counted', () => {
    const result = makeResult(
      { group: 'garden-club', round: 'r1', aggregator: 'bob', commitments, total: [1, 2] },
      bob.privateKey,
    )
    expect(verifyResult(result, roster, 'r1')).toBe(result)
    const mine = commitmentOf(a)
    expect(wasCounted(result, mine, proofOf(result, mine))).toBe(true)
  })

  it('rejects a result altered, counted twice, signed by a foreigner or for another round', () => {
    const result = makeResult(
      { group: 'garden-club', round: 'r1', aggregator: 'bob', commitments, total: [1, 2] },
      bob.privateKey,
    )
    expect(() => verifyResult({ ...result, total: [1, 3] }, roster, 'r1')).toThrow(/does not verify/)
    expect(() => verifyResult(result, roster, 'r2')).toThrow(/is for garden-club round r1/)
    const foreign = makeResult(
      { group: 'garden-club', round: 'r1', aggregator: 'eve', commitments, total: 0 },
      eve.privateKey,
    )
    expect(() => verifyResult(foreign, roster, 'r1')).toThrow(/not in the group file/)
    // bob signs a result listing alice twice: the signature is fine, the list is not
    const twice = makeResult(
      { group: 'garden-club', round: 'r1', aggregator: 'bob', commitments, total: 0 },
      bob.privateKey,
    )
    const doubled = { ...twice, commitments: [...twice.commitments, twice.commitments[0]!] }
    expect(() => verifyResult(doubled, roster, 'r1')).toThrow(/does not verify/)
  })
})
