/** A plugin's declared permissions as the host's flags and environment. */
import { describe, expect, it } from '@jest/globals'
import path from 'node:path'
import { PACKAGE_ROOT } from '../../src/engine/package-root.js'
import { allowedHost } from '../../src/sandbox/network.js'
import { hostCommand, permissionFlag, permissionPath } from '../../src/sandbox/permissions.js'

describe('host permissions', () => {
  it('grants reads of its folder, Mirador’s own files and declared paths; writes and programs only if declared', () => {
    const c = hostCommand({
      dir: '/plugins/p',
      permissions: { fs: { read: ['data', '/etc/hosts'], write: ['out/*.json'] }, env: ['A', 'MISSING'] },
      memoryMb: 64,
      env: { A: '1', B: '2' },
    })
    expect(c.execArgv).toEqual(
      expect.arrayContaining([
        '--allow-fs-read=/plugins/p',
        `--allow-fs-read=${path.join(PACKAGE_ROOT, 'dist')}`,
        '--allow-fs-read=/plugins/p/data',
        '--allow-fs-read=/etc/hosts',
        '--allow-fs-write=/plugins/p/out/*',
        '--max-old-space-size=64',
      ]),
    )
    expect(c.execArgv).not.toContain('--allow-child-process')
    expect(c.execArgv.some((a) => a.includes('keys'))).toBe(false)
    expect(c.env).toEqual({ A: '1' })
    expect(hostCommand({ dir: '/p', permissions: { childProcess: true }, memoryMb: 1, env: {} }).execArgv).toContain(
      '--allow-child-process',
    )
  })

  it('cuts globs at their first wildcard segment', () => {
    expect(permissionPath('data/**/x.json', '/p')).toBe('/p/data/*')
    expect(permissionPath('/a/b', '/p')).toBe('/a/b')
  })

  it('uses the flag of the Node version it runs on', () => {
    expect(permissionFlag('20.20.2')).toBe('--experimental-permission')
    expect(permissionFlag('22.12.0')).toBe('--experimental-permission')
    expect(permissionFlag('22.13.0')).toBe('--permission')
    expect(permissionFlag('24.1.0')).toBe('--permission')
  })

  it('matches declared network hosts: name, port, IPv6, subdomains', () => {
    const declared = ['api.example.com', 'localhost:8080', '[::1]:9000', '*.corp.test']
    const ok = (u: string) => allowedHost(new URL(u), declared)
    expect(ok('https://api.example.com/x')).toBe(true)
    expect(ok('https://api.example.com.evil.test/x')).toBe(false)
    expect(ok('http://localhost:8080/')).toBe(true)
    expect(ok('http://localhost:8081/')).toBe(false)
    expect(ok('http://[::1]:9000/')).toBe(true)
    expect(ok('https://a.corp.test/')).toBe(true)
    expect(ok('https://corp.test/')).toBe(false)
    expect(ok('https://evilcorp.test/')).toBe(false)
  })
})
