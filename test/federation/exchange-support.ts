/** What every kind of exchange must do, run by each kind's test file against the real thing. */
import { randomBytes } from 'node:crypto'
import { expect } from '@jest/globals'
import type { Exchange } from '../../src/plugins/federation/exchange/index.js'

export type OpenExchange = (member: string) => Exchange

/** `n` members each put their file of a round at once; a fresh reader then finds every one, intact. */
export async function roundOfMembers(open: OpenExchange, round: string, n = 12): Promise<void> {
  const files = Array.from({ length: n }, (_, i) => ({
    member: `m${String(i).padStart(2, '0')}`,
    bytes: new Uint8Array(randomBytes(2048)),
  }))
  await Promise.all(
    files.map(async ({ member, bytes }) => {
      const x = open(member)
      try {
        await x.put(`${round}/${member}.bundle`, bytes)
      } finally {
        await x.close()
      }
    }),
  )
  const reader = open('reader')
  try {
    await reader.sync()
    expect(await reader.list(round)).toEqual(files.map((f) => `${f.member}.bundle`))
    for (const f of files)
      expect(Buffer.from((await reader.get(`${round}/${f.member}.bundle`))!)).toEqual(Buffer.from(f.bytes))
  } finally {
    await reader.close()
  }
}

/** create-only: same bytes again is a no-op, other bytes under the name is refused naming the path */
export async function createOnly(open: OpenExchange): Promise<void> {
  const a = open('alice')
  const b = open('bob')
  try {
    const first = new TextEncoder().encode('first')
    await a.put('r2/alice.bundle', first)
    await a.put('r2/alice.bundle', first)
    await b.sync()
    await b.put('r2/alice.bundle', first)
    const err = await b.put('r2/alice.bundle', new TextEncoder().encode('second')).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'FEDERATION_EXCHANGE' })
    expect((err as Error).message).toContain('r2/alice.bundle already exists with other content')
    expect((err as Error).message).not.toContain('second')
    await a.sync()
    expect(new TextDecoder().decode(await a.get('r2/alice.bundle'))).toBe('first')
    expect(await a.list('r2')).toEqual(['alice.bundle'])
    expect(await a.get('r2/nobody.bundle')).toBeUndefined()
    expect(await a.list('no-such-round')).toEqual([])
  } finally {
    await a.close()
    await b.close()
  }
}

export const BAD_PATHS = [
  '',
  '/etc/passwd',
  '../up',
  'r1/../../x',
  'r1/./x',
  'r1//x',
  'a b',
  'r1/x?y',
  'r1/.hidden',
  'é',
]

export async function refusesBadPaths(x: Exchange): Promise<void> {
  for (const p of BAD_PATHS) {
    for (const op of [() => x.put(p, new Uint8Array([1])), () => x.get(p)]) {
      const err = await op().catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'FEDERATION_EXCHANGE', message: expect.stringContaining('invalid path') })
    }
  }
  await expect(x.list('../x')).rejects.toMatchObject({ code: 'FEDERATION_EXCHANGE' })
}
