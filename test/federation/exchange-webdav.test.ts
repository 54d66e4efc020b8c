import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals'
import { createExchange } from '../../src/plugins/federation/exchange/index.js'
import { startWebdavServer, type WebdavTestServer } from '../support/webdav-server.js'
import { createOnly, refusesBadPaths, roundOfMembers } from './exchange-support.js'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-fedx-dav-'))
let server: WebdavTestServer
let secured: WebdavTestServer
beforeAll(async () => {
  server = await startWebdavServer()
  secured = await startWebdavServer({ user: 'group', password: 's3cret' })
})
afterAll(async () => {
  await server.stop()
  await secured.stop()
  rmSync(tmp, { recursive: true, force: true })
})

const open = (member: string) => createExchange(server.url, { home: path.join(tmp, member), member, env: {} })

describe('WebDAV exchange (a real webdav-server on loopback)', () => {
  it('12 members put their files of a round at once; all land, intact, listed sorted', async () => {
    await roundOfMembers(open, 'round-1')
  })

  it('is create-only (MOVE with Overwrite: F): same bytes a no-op, other bytes refused naming the path', async () => {
    await createOnly(open)
  })

  it('12 members racing on one name: one wins, the rest are refused, no temp file is listed or left', async () => {
    const bytes = Array.from({ length: 12 }, (_, i) => new Uint8Array(4096).fill(i + 1))
    const results = await Promise.allSettled(bytes.map((b, i) => open(`r${i}`).put('race/same.bundle', b)))
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []))
    expect(won).toHaveLength(1)
    for (const r of results)
      if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'FEDERATION_EXCHANGE' })
    expect(Buffer.from((await open('x').get('race/same.bundle'))!)).toEqual(Buffer.from(bytes[won[0]!]!))
    const res = await fetch(`${server.url}race/`, { method: 'PROPFIND', headers: { Depth: '1' } })
    expect((await res.text()).match(/\.tmp/g)).toBeNull()
  })

  it('refuses bad paths with a clear error', async () => {
    await refusesBadPaths(open('m'))
  })

  it('a server that is down is one clear line naming the exchange and the path', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const url = `http://127.0.0.1:${port}/group/`
    const x = createExchange(url, { home: tmp, member: 'm', env: {} })
    await expect(x.put('r/a.bundle', new Uint8Array([42]))).rejects.toMatchObject({
      code: 'FEDERATION_EXCHANGE',
      message: `exchange ${url}: cannot read r/a.bundle: cannot reach the server (connection refused)`,
    })
    await expect(x.list('r')).rejects.toMatchObject({ message: expect.stringContaining('cannot list r') })
  })

  it('authenticates with MIRADOR_FEDERATION_TOKEN (user:password: basic); without it, says what to set', async () => {
    const without = createExchange(secured.url, { home: tmp, member: 'm', env: {} })
    await expect(without.put('r/a', new Uint8Array([1]))).rejects.toMatchObject({
      code: 'FEDERATION_EXCHANGE',
      message: expect.stringContaining('HTTP 401); set MIRADOR_FEDERATION_TOKEN'),
    })
    const env = { MIRADOR_FEDERATION_TOKEN: 'group:s3cret' }
    const x = createExchange(secured.url, { home: tmp, member: 'm', env })
    await x.put('r/a', new Uint8Array([1]))
    expect(await x.list('r')).toEqual(['a'])
  })

  it('never puts credentials in a URL, never sends a token over plain http to another host, refuses offline', () => {
    const home = tmp
    expect(() => createExchange('https://u:p@dav.example.com/g/', { home, member: 'm' })).toThrow(
      'exchange https://dav.example.com/g/: credentials in the URL would be stored in plain text',
    )
    expect(() =>
      createExchange('http://dav.example.com/g/', { home, member: 'm', env: { MIRADOR_FEDERATION_TOKEN: 't' } }),
    ).toThrow('never sent over plain http://')
    expect(() => createExchange(server.url, { home, member: 'm', offline: true })).toThrow(
      expect.objectContaining({ code: 'FEDERATION_EXCHANGE', message: expect.stringContaining('--offline') }),
    )
  })
})
