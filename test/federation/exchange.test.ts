import { describe, expect, it } from '@jest/globals'
import { createExchange, exchangeKind } from '../../src/plugins/federation/exchange/index.js'

const opts = { home: '/nonexistent-home', member: 'm1' }

describe('createExchange', () => {
  it('picks the kind from the URL', () => {
    expect(exchangeKind('/srv/group')).toBe('folder')
    expect(exchangeKind('dir:/srv/group')).toBe('folder')
    expect(exchangeKind('./group')).toBe('folder')
    expect(exchangeKind('group')).toBe('folder')
    expect(exchangeKind('git+file:///srv/group.git')).toBe('git')
    expect(exchangeKind('git+ssh://git@example.com/group.git')).toBe('git')
    expect(exchangeKind('https://dav.example.com/group/')).toBe('webdav')
    expect(exchangeKind('s3://bucket/group')).toBe('unknown')
  })

  it('refuses what it cannot serve with one line that says what to give', () => {
    expect(() => createExchange('s3://bucket/group', opts)).toThrow(
      'exchange s3://bucket/group: unknown kind of exchange: give a folder, git+file://',
    )
    expect(() => createExchange('', opts)).toThrow(expect.objectContaining({ code: 'FEDERATION_EXCHANGE' }))
    expect(() => createExchange('git+ftp://example.com/g.git', opts)).toThrow('git over ftp: is not supported')
    expect(() => createExchange('git+https://tok@example.com/g.git', opts)).toThrow('credentials in the URL')
    for (const member of ['', '../x', 'a b', 'x'.repeat(65), 'Ünï']) {
      expect(() => createExchange('/srv/group', { ...opts, member })).toThrow('invalid member id')
    }
  })

  it('makes no network request and no folder until used', () => {
    expect(createExchange('https://dav.example.com/group/', { ...opts, env: {} }).name).toBe(
      'https://dav.example.com/group/',
    )
    expect(createExchange('git+ssh://git@example.com/g.git', opts).name).toBe('git+ssh://git@example.com/g.git')
  })
})
