import { describe, expect, it } from '@jest/globals'
import {
  aggregate,
  DEFAULT_SCALE,
  decodeVector,
  encodeVector,
  maskVector,
  revealShares,
} from '../../src/plugins/federation/secagg/index.js'
import { MiradorError } from '../../src/engine/errors.js'
import { addInto, expandMask, pairSeed, roundSalt, selfSeed } from '../../src/plugins/federation/secagg/derive.js'
import { agree } from '../../src/plugins/federation/secagg/keys.js'
import { combine } from '../../src/plugins/federation/secagg/shamir.js'
import { b64ToField, bigToBytes, unpackVector } from '../../src/plugins/federation/secagg/wire.js'
import { commitAll, makeMembers, runRound, viaFile } from '../support/secagg-round.js'

const LENGTH = 20

/** Noised counts: real values with fractional parts, some negative. */
function inputsFor(ids: string[]): Map<string, number[]> {
  return new Map(
    ids.map((id, k) => [
      id,
      Array.from({ length: LENGTH }, (_, i) => ((k * 7 + i * 13) % 40) - 5 + Math.sin(k + i) * 0.37),
    ]),
  )
}

/** The exact sum of what the survivors encoded, decoded: what the opened total must equal bit for bit. */
function encodedSum(inputs: Map<string, number[]>, ids: string[], members: number): number[] {
  const acc = new Uint32Array(LENGTH)
  for (const id of ids) encodeVector(inputs.get(id)!, members).forEach((u, i) => (acc[i] = (acc[i]! + u) >>> 0))
  return decodeVector(acc)
}

function expectCode(fn: () => unknown, code: string, pattern: RegExp): void {
  let caught: unknown
  try {
    fn()
  } catch (err) {
    caught = err
  }
  expect(MiradorError.is(caught)).toBe(true)
  expect((caught as MiradorError).code).toBe(code)
  expect((caught as MiradorError).message).toMatch(pattern)
}

describe('secure aggregation', () => {
  const members = makeMembers(12)
  const ids = members.map((m) => m.id)
  const inputs = inputsFor(ids)

  it('opens the exact sum of 10 survivors when 2 of 12 members drop after sharing', () => {
    const dropped = [ids[3]!, ids[8]!]
    const { result, reveals } = runRound(members, inputs, { threshold: 8, dropped })
    const survivors = ids.filter((id) => !dropped.includes(id))
    expect(result.survivors).toEqual(survivors)
    expect(result.dropped).toEqual(dropped)
    expect(result.sum).toEqual(encodedSum(inputs, survivors, 12))
    // and the decoded total is within 1/scale per member of the real sum
    const real = Array.from({ length: LENGTH }, (_, i) => survivors.reduce((s, id) => s + inputs.get(id)![i]!, 0))
    result.sum.forEach((v, i) => expect(Math.abs(v - real[i]!)).toBeLessThanOrEqual(survivors.length / DEFAULT_SCALE))
    // survivors revealed only self-mask shares of survivors and mask-key shares of the dropped
    for (const r of reveals) {
      for (const s of r.shares) expect(s.kind).toBe(dropped.includes(s.of) ? 'mask' : 'self')
    }
  })

  it('a member that never commits is left out of the round from the start', () => {
    const { result, commits } = runRound(members, inputs, { threshold: 8, absent: [ids[0]!], dropped: [ids[11]!] })
    expect(commits).toHaveLength(11)
    expect(result.dropped).toEqual([ids[11]])
    expect(result.sum).toEqual(encodedSum(inputs, ids.slice(1, 11), 11))
  })

  it('opens the sum with no dropouts, and the same files give the same bytes again', () => {
    const files = runRound(members, inputs, { threshold: 7 })
    expect(files.result.dropped).toEqual([])
    expect(files.result.sum).toEqual(encodedSum(inputs, ids, 12))
    const again = aggregate(
      viaFile({
        group: 'g1',
        round: 'r1',
        threshold: 7,
        commits: files.commits,
        masked: files.masked,
        reveals: files.reveals,
      }),
    )
    expect(JSON.stringify(again)).toBe(JSON.stringify(files.result))
    // a different subset of ≥ t reveals opens the same sum
    const fewer = aggregate({ group: 'g1', round: 'r1', threshold: 7, ...files, reveals: files.reveals.slice(5) })
    expect(fewer.sum).toEqual(files.result.sum)
  })

  it('a masked vector looks unrelated to its input, and two maskings of one input differ', () => {
    const big = makeMembers(3)
    const input = Array.from({ length: 400 }, (_, i) => i * 2) // a strong trend to correlate with
    const mask = () => {
      const { commits, states } = commitAll(big, 2)
      return maskVector(input, states.get(big[0]!.id)!, commits).masked
    }
    const a = mask()
    const b = mask()
    expect(a.values).not.toBe(b.values)
    const masked = Array.from({ length: 400 }, (_, i) => Buffer.from(a.values, 'base64').readUInt32LE(i * 4))
    const corr = pearson(input, masked)
    expect(Math.abs(corr)).toBeLessThan(0.25) // 5 standard errors for 400 points
    const mean = masked.reduce((s, v) => s + v, 0) / masked.length / 2 ** 32
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.1)
    // the plain encoding would correlate perfectly
    expect(pearson(input, Array.from(encodeVector(input, 3)))).toBeGreaterThan(0.99)
  })

  it('refuses to open below the threshold, with FEDERATION_ROUND', () => {
    expectCode(
      () => runRound(members, inputs, { threshold: 8, dropped: ids.slice(0, 5) }),
      'FEDERATION_ROUND',
      /only 7 survivors, fewer than the threshold 8/,
    )
    // the aggregator refuses on its own too, whatever members do
    const files = runRound(members, inputs, { threshold: 8, dropped: ids.slice(0, 4) })
    expectCode(
      () => aggregate({ group: 'g1', round: 'r1', threshold: 8, ...files, masked: files.masked.slice(1) }),
      'FEDERATION_ROUND',
      /only 7 of 12 committed members sent a masked vector, fewer than the threshold 8/,
    )
    expectCode(
      () => aggregate({ group: 'g1', round: 'r1', threshold: 8, ...files, reveals: files.reveals.slice(1) }),
      'FEDERATION_ROUND',
      /only 7 survivors revealed their shares/,
    )
  })

  it('a tampered share fails GCM authentication with FEDERATION_SHARE', () => {
    const { commits, states } = commitAll(members.slice(0, 5), 3)
    const [u, v] = [members[0]!, members[1]!]
    const box = commits.find((c) => c.member === v.id)!.shares[u.id]!
    const data = Buffer.from(box.data, 'base64')
    data[0]! ^= 1
    box.data = data.toString('base64')
    const { state } = maskVector([1, 2], states.get(u.id)!, commits)
    const survivors = members.slice(0, 5).map((m) => m.id)
    expectCode(
      () => revealShares(state, u.keys.privateKey, commits, { survivors, dropped: [] }),
      'FEDERATION_SHARE',
      new RegExp(`the share ${v.id} sent to ${u.id} fails authentication`),
    )
  })

  it('a revealed share that was altered is caught against the commitment, with FEDERATION_SHARE', () => {
    const files = runRound(members, inputs, { threshold: 8, dropped: [ids[0]!] })
    const open = (reveals: typeof files.reveals) => () =>
      aggregate({ group: 'g1', round: 'r1', threshold: 8, ...files, reveals })
    for (const kind of ['self', 'mask'] as const) {
      const reveals = viaFile(files.reveals)
      // the share with the smallest x is always among the t used
      const first = reveals[0]!.shares.find((s) => s.kind === kind)!
      const y = Buffer.from(first.y, 'base64')
      y[65]! ^= 1
      first.y = y.toString('base64')
      expectCode(
        open(reveals),
        'FEDERATION_SHARE',
        new RegExp(`${kind === 'self' ? 'self-mask' : 'mask-key'} shares of m0\\d do not reconstruct`),
      )
    }
  })

  it('a share for another round does not open', () => {
    const five = members.slice(0, 5)
    const r1 = commitAll(five, 3, 'g1', 'r1')
    const r2 = commitAll(five, 3, 'g1', 'r2')
    const [u, v] = [five[0]!, five[1]!]
    // r2's box from v to u replayed into r1
    r1.commits.find((c) => c.member === v.id)!.shares[u.id] = r2.commits.find((c) => c.member === v.id)!.shares[u.id]!
    const { state } = maskVector([1], r1.states.get(u.id)!, r1.commits)
    expectCode(
      () => revealShares(state, u.keys.privateKey, r1.commits, { survivors: five.map((m) => m.id), dropped: [] }),
      'FEDERATION_SHARE',
      /fails authentication/,
    )
  })

  it('refuses a reveal that would reveal both secrets of one member', () => {
    const five = members.slice(0, 5)
    const all = five.map((m) => m.id)
    const { commits, states } = commitAll(five, 3)
    const u = five[0]!
    const { state } = maskVector([1], states.get(u.id)!, commits)
    const first = revealShares(state, u.keys.privateKey, commits, { survivors: all.slice(0, 4), dropped: [all[4]!] })
    expect(first.reveal.shares.find((s) => s.of === all[4])!.kind).toBe('mask')
    // the same lists again are fine; naming the "dropped" member a survivor now is not
    revealShares(viaFile(first.state), u.keys.privateKey, commits, { survivors: all.slice(0, 4), dropped: [all[4]!] })
    expectCode(
      () => revealShares(viaFile(first.state), u.keys.privateKey, commits, { survivors: all, dropped: [] }),
      'FEDERATION_ROUND',
      new RegExp(`already revealed the mask secret of ${all[4]}`),
    )
    // lists that do not split the committed members, or name this member dropped, are refused
    expectCode(
      () => revealShares(state, u.keys.privateKey, commits, { survivors: all.slice(0, 4), dropped: [] }),
      'FEDERATION_ROUND',
      /do not split the 5 committed members/,
    )
    expectCode(
      () => revealShares(state, u.keys.privateKey, commits, { survivors: all.slice(1), dropped: [all[0]!] }),
      'FEDERATION_ROUND',
      /is listed as dropped/,
    )
  })

  it('a late vector of a dropped member stays masked by its self-mask', () => {
    const five = members.slice(0, 5)
    const all = five.map((m) => m.id)
    const { commits, states } = commitAll(five, 3)
    const late = five[4]!
    const lateVector = maskVector([123.5], states.get(late.id)!, commits).masked
    const masked = five.slice(0, 4).map((m) => {
      const r = maskVector([1], states.get(m.id)!, commits)
      states.set(m.id, r.state)
      return r.masked
    })
    const reveals = five
      .slice(0, 4)
      .map((m) =>
        revealShares(states.get(m.id)!, m.keys.privateKey, commits, { survivors: all.slice(0, 4), dropped: [late.id] }),
      )
      .map((r) => r.reveal)
    expect(aggregate({ group: 'g1', round: 'r1', threshold: 3, commits, masked, reveals }).sum).toEqual([4])
    // a curious aggregator now holds the late member's mask key and strips its pairwise masks...
    const shares = reveals.map((r) => r.shares.find((s) => s.of === late.id)!)
    expect(shares.every((s) => s.kind === 'mask')).toBe(true)
    const sk = bigToBytes(combine(shares.map((s) => ({ x: s.x, y: b64ToField(s.y, 'y') }))), 32, 'k')
    const y = unpackVector(lateVector.values, 'late')
    const salt = roundSalt('g1', 'r1')
    for (const u of all.slice(0, 4)) {
      const secret = agree(sk, commits.find((c) => c.member === u)!.maskPublicKey, u)
      addInto(y, expandMask(pairSeed(secret, salt, late.id, u), 1), late.id < u ? -1 : 1)
    }
    // ...and is left with the value under its self-mask, which nobody revealed
    expect(decodeVector(y)[0]).not.toBeCloseTo(123.5, 0)
    // the same removal with the self-mask (were it revealed) would open it: the test can fail
    const b = Buffer.from(states.get(late.id)!.selfSecret, 'base64')
    addInto(y, expandMask(selfSeed(b, salt, late.id), 1), -1)
    expect(decodeVector(y)[0]).toBe(123.5)
  })

  it('rejects out-of-round, duplicate, inconsistent and malformed files with FEDERATION_ROUND', () => {
    const files = runRound(members, inputs, { threshold: 8, dropped: [ids[5]!] })
    const open = (patch: Partial<typeof files>) => () =>
      aggregate({ group: 'g1', round: 'r1', threshold: 8, ...files, ...patch })
    const other = viaFile(files.masked)
    other[2]!.round = 'r0'
    expectCode(open({ masked: other }), 'FEDERATION_ROUND', /is not a version-1 message of group g1, round r1/)
    expectCode(open({ masked: [...files.masked, files.masked[0]!] }), 'FEDERATION_ROUND', /two masked vectors from m00/)
    const narrower = viaFile(files.masked)
    narrower[1]!.committed = narrower[1]!.committed.slice(1)
    expectCode(open({ masked: narrower }), 'FEDERATION_ROUND', /m01 masked against other members/)
    const broken = viaFile(files.reveals)
    ;(broken[0] as { shares: unknown }).shares = 'nothing'
    expectCode(open({ reveals: broken }), 'FEDERATION_ROUND', /does not hold a list of shares/)
    const stale = viaFile(files.reveals)
    stale[0]!.dropped = []
    expectCode(open({ reveals: stale }), 'FEDERATION_ROUND', /was made for other survivor and dropped lists/)
    expectCode(open({ commits: files.commits.slice(0, 7) }), 'FEDERATION_ROUND', /only 7 members committed/)
  })

  it('checks the fixed-point range with FEDERATION_RANGE', () => {
    expect(decodeVector(encodeVector([1.5, -2.25, 0], 50))).toEqual([1.5, -2.25, 0])
    expectCode(() => encodeVector([0, 20000], 50), 'FEDERATION_RANGE', /value 20000 at index 1 is outside ±10485\.\d+/)
    expectCode(() => encodeVector([Number.NaN], 2), 'FEDERATION_RANGE', /value NaN/)
    expectCode(() => encodeVector([1], 2, 1000), 'FEDERATION_RANGE', /power of two/)
  })

  it('refuses a threshold at or below half the members', () => {
    expectCode(() => commitAll(members, 6), 'FEDERATION_ROUND', /above half the 12 members/)
  })
})

function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length
  const ma = a.reduce((s, v) => s + v, 0) / n
  const mb = b.reduce((s, v) => s + v, 0) / n
  let cov = 0
  let va = 0
  let vb = 0
  for (let i = 0; i < n; i++) {
    cov += (a[i]! - ma) * (b[i]! - mb)
    va += (a[i]! - ma) ** 2
    vb += (b[i]! - mb) ** 2
  }
  return cov / Math.sqrt(va * vb)
}
