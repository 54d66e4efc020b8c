import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from '@jest/globals'
import { createExchange } from '../../src/plugins/federation/exchange/index.js'
import { createOnly, refusesBadPaths, roundOfMembers } from './exchange-support.js'

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mirador-fedx-git-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' })

function bareRepo(name: string): string {
  const dir = path.join(tmp, `${name}.git`)
  git('init', '-q', '--bare', dir)
  return `git+file://${dir}`
}

/** git processes that are children of this test process (none may outlive an exchange call) */
function gitChildren(): string[] {
  const out = execFileSync('ps', ['-o', 'comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
  return out.split('\n').filter((c) => c.startsWith('git'))
}

describe('git exchange', () => {
  it('12 members (own homes and clones) put at once into one bare repo: all land, as neutral authors', async () => {
    const url = bareRepo('round')
    const open = (member: string) => createExchange(url, { home: path.join(tmp, 'homes', member), member })
    await roundOfMembers(open, 'round-1')
    const bare = url.slice('git+file://'.length)
    expect(git('--git-dir', bare, 'ls-tree', '--name-only', 'main', 'round-1/').trim().split('\n')).toHaveLength(12)
    const authors = new Set(git('--git-dir', bare, 'log', '--format=%an <%ae>|%cn <%ce>', 'main').trim().split('\n'))
    for (const a of authors)
      expect(a).toMatch(/^mirador member m\d\d <m\d\d@members\.mirador\.invalid>\|mirador member m\d\d/)
    expect(authors.size).toBe(12)
    expect(gitChildren()).toEqual([])
  }, 120_000)

  it('is create-only across members: same bytes are a no-op, other bytes are refused naming the path', async () => {
    const url = bareRepo('create-only')
    await createOnly((member) => createExchange(url, { home: path.join(tmp, 'co', member), member }))
  })

  it('a stale clone still cannot overwrite: the rebase conflict is refused, its commit dropped', async () => {
    const url = bareRepo('stale')
    const a = createExchange(url, { home: path.join(tmp, 'st', 'a'), member: 'a' })
    const b = createExchange(url, { home: path.join(tmp, 'st', 'b'), member: 'b' })
    await b.sync()
    await a.put('r/x.bundle', new TextEncoder().encode('from a'))
    await expect(b.put('r/x.bundle', new TextEncoder().encode('from b'))).rejects.toMatchObject({
      code: 'FEDERATION_EXCHANGE',
      message:
        `exchange ${url}: r/x.bundle already exists with other content; rounds are append-only, ` +
        'so write under a new name (a new round)',
    })
    expect(new TextDecoder().decode(await b.get('r/x.bundle'))).toBe('from a')
    await b.put('r/y.bundle', new TextEncoder().encode('from b'))
    await a.sync()
    expect(await a.list('r')).toEqual(['x.bundle', 'y.bundle'])
  })

  it('runs no hook of the clone (a failing pre-commit and pre-push change nothing)', async () => {
    const url = bareRepo('hooks')
    const home = path.join(tmp, 'hooks')
    const x = createExchange(url, { home, member: 'm' })
    await x.put('r/a', new Uint8Array([1]))
    const hash = createHash('sha256').update(url).digest('hex').slice(0, 16)
    const hooks = path.join(home, 'federation', 'exchanges', hash, '.git', 'hooks')
    expect(existsSync(hooks)).toBe(true)
    for (const h of ['pre-commit', 'commit-msg', 'pre-push']) {
      writeFileSync(path.join(hooks, h), `#!/bin/sh\ntouch "${path.join(tmp, 'hook-ran')}"\nexit 1\n`)
      chmodSync(path.join(hooks, h), 0o755)
    }
    await x.put('r/b', new Uint8Array([2]))
    expect(existsSync(path.join(tmp, 'hook-ran'))).toBe(false)
    expect(git('--git-dir', url.slice('git+file://'.length), 'ls-tree', '--name-only', 'main', 'r/')).toBe('r/a\nr/b\n')
  })

  it('a put whose push failed (remote gone) is pushed by the next sync once the remote is back', async () => {
    const url = bareRepo('pending')
    const bare = url.slice('git+file://'.length)
    const x = createExchange(url, { home: path.join(tmp, 'pending'), member: 'm' })
    await x.put('r/a', new Uint8Array([1]))
    renameSync(bare, `${bare}.away`)
    await expect(x.put('r/b', new Uint8Array([2]))).rejects.toMatchObject({ code: 'FEDERATION_EXCHANGE' })
    renameSync(`${bare}.away`, bare)
    await x.sync()
    expect(git('--git-dir', bare, 'ls-tree', '--name-only', 'main', 'r/')).toBe('r/a\nr/b\n')
  })

  it('a cancelled signal stops git: nothing lands, no git process is left', async () => {
    const url = bareRepo('abort')
    const ac = new AbortController()
    const x = createExchange(url, { home: path.join(tmp, 'abort'), member: 'm', signal: ac.signal })
    const put = x.put('r/a', new Uint8Array([1]))
    ac.abort()
    await expect(put).rejects.toMatchObject({ code: 'ABORTED' })
    expect(git('--git-dir', url.slice('git+file://'.length), 'for-each-ref')).toBe('')
    expect(gitChildren()).toEqual([])
  })

  it('refuses bad paths with a clear error', async () => {
    await refusesBadPaths(createExchange(bareRepo('paths'), { home: path.join(tmp, 'p'), member: 'm' }))
  })

  it('a remote that is not there is one clear line naming the exchange', async () => {
    const url = `git+file://${path.join(tmp, 'missing.git')}`
    const x = createExchange(url, { home: path.join(tmp, 'missing'), member: 'm' })
    const err = await x.put('r/a', new Uint8Array([1])).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'FEDERATION_EXCHANGE' })
    expect((err as Error).message).toMatch(
      new RegExp(`^exchange ${url.replace(/[+.]/g, '\\$&')}: cannot reach the remote: .*missing\\.git`),
    )
    expect((err as Error).message).not.toContain('\n')
  })

  it('offline: a local bare repo is allowed, ssh and https remotes are refused', async () => {
    const url = bareRepo('offline')
    const x = createExchange(url, { home: path.join(tmp, 'off'), member: 'm', offline: true })
    await x.put('r/a', new Uint8Array([1]))
    for (const remote of ['git+ssh://git@example.com/group.git', 'git+https://example.com/group.git']) {
      expect(() => createExchange(remote, { home: tmp, member: 'm', offline: true })).toThrow(
        expect.objectContaining({ code: 'FEDERATION_EXCHANGE', message: expect.stringContaining('--offline') }),
      )
    }
  })
})
