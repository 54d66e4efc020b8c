/**
 * Federation exchanges: 50 members each put a ~2 KB file of one round (all at once, each with its
 * own home, so a git exchange means 50 clones racing to push), then one member syncs, lists and
 * gets them all. Per kind: a folder, a local bare git repository, a WebDAV server on loopback.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { createExchange } from '../src/plugins/federation/exchange/index.js'
import { startWebdavServer } from '../test/support/webdav-server.js'

export interface ExchangeBench {
  kind: string
  members: number
  putAllMs: number
  /** the same, one member after another (the usual case: members contribute at different times) */
  putEachMs: number
  readAllMs: number
}

async function benchOne(kind: string, url: string, tmp: string, members: number): Promise<ExchangeBench> {
  const open = (member: string) => createExchange(url, { home: path.join(tmp, kind, member), member, env: {} })
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: members }, async (_, i) => {
      const x = open(`m${i}`)
      await x.put(`round-1/m${i}.bundle`, new Uint8Array(randomBytes(2048)))
      await x.close()
    }),
  )
  const putAllMs = performance.now() - t0
  const t2 = performance.now()
  for (let i = 0; i < members; i++) {
    const x = open(`m${i}`)
    await x.put(`round-2/m${i}.bundle`, new Uint8Array(randomBytes(2048)))
    await x.close()
  }
  const putEachMs = (performance.now() - t2) / members
  const reader = open('reader')
  const t1 = performance.now()
  await reader.sync()
  const names = await reader.list('round-1')
  for (const n of names) await reader.get(`round-1/${n}`)
  const readAllMs = performance.now() - t1
  if (names.length !== members) throw new Error(`${kind}: ${names.length} of ${members} files landed`)
  return { kind, members, putAllMs, putEachMs, readAllMs }
}

export async function benchExchanges(members = 50): Promise<ExchangeBench[]> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-bench-fedx-'))
  const dav = await startWebdavServer()
  try {
    const bare = path.join(tmp, 'group.git')
    execFileSync('git', ['init', '-q', '--bare', bare])
    return [
      await benchOne('folder', path.join(tmp, 'shared'), tmp, members),
      await benchOne('git', `git+file://${bare}`, tmp, members),
      await benchOne('webdav', dav.url, tmp, members),
    ]
  } finally {
    await dav.stop()
    rmSync(tmp, { recursive: true, force: true })
  }
}
