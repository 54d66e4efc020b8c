import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { createExchange } from '../../src/plugins/federation/exchange/index.js'
import { createOnly, refusesBadPaths, roundOfMembers } from './exchange-support.js'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-fedx-folder-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('folder exchange', () => {
  const shared = path.join(tmp, 'shared')
  const open = (member: string) => createExchange(`dir:${shared}`, { home: path.join(tmp, member), member })

  it('12 members put their files of a round at once; all land, intact, listed sorted; no temp file stays', async () => {
    await roundOfMembers(open, 'round-1')
    expect(readdirSync(path.join(shared, 'round-1')).filter((n) => n.startsWith('.'))).toEqual([])
  })

  it('is create-only: identical bytes are a no-op, other bytes are refused naming the path', async () => {
    await createOnly(open)
  })

  it('12 members racing on one name: one wins, the rest are refused, the file is the winner’s whole', async () => {
    const bytes = Array.from({ length: 12 }, (_, i) => new Uint8Array(4096).fill(i + 1))
    const results = await Promise.allSettled(bytes.map((b, i) => open(`r${i}`).put('race/same.bundle', b)))
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const winner = results.findIndex((r) => r.status === 'fulfilled')
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'FEDERATION_EXCHANGE' })
    expect(Buffer.from((await open('x').get('race/same.bundle'))!)).toEqual(Buffer.from(bytes[winner]!))
  })

  it('refuses bad paths with a clear error', async () => {
    await refusesBadPaths(open('m'))
  })

  it('a plain path is a folder exchange; a missing exchange folder is a clear error, not an empty list', async () => {
    const x = createExchange(path.join(tmp, 'not-there'), { home: tmp, member: 'm' })
    const err = await x.list('').catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'FEDERATION_EXCHANGE' })
    expect((err as Error).message).toBe(
      `exchange ${path.join(tmp, 'not-there')}: cannot list the exchange folder (ENOENT)`,
    )
  })

  it('a cancelled signal stops before anything is written', async () => {
    const x = createExchange(shared, { home: tmp, member: 'm', signal: AbortSignal.abort() })
    await expect(x.put('cancelled/a', new Uint8Array([1]))).rejects.toMatchObject({ code: 'ABORTED' })
    expect(await open('m').list('cancelled')).toEqual([])
  })

  it('is allowed offline (it is local)', async () => {
    const x = createExchange(shared, { home: tmp, member: 'm', offline: true })
    expect(await x.list('round-1')).toHaveLength(12)
  })
})
