/**
 * createExchange: one factory for every kind of exchange, chosen by the URL.
 *   DIR, dir:DIR                         a folder (shared or synced by the user's own tools)
 *   git+file://…, git+ssh://…, git+https://…   a git remote, through a clone under $MIRADOR_HOME
 *   http://…, https://…                  a WebDAV server
 */
import path from 'node:path'
import { exchangeError } from './errors.js'
import { createFolderExchange } from './folder.js'
import { createGitExchange } from './git.js'
import { createWebdavExchange } from './webdav.js'
import type { Exchange, ExchangeOptions } from './types.js'

export type { Exchange, ExchangeOptions, ExchangeProgress } from './types.js'

const MEMBER = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

export function createExchange(url: string, options: ExchangeOptions): Exchange {
  if (!MEMBER.test(options.member)) {
    throw exchangeError(url, `invalid member id ${JSON.stringify(options.member)}: use up to 64 of A-Z a-z 0-9 . _ -`)
  }
  if (!url) throw exchangeError('(none)', 'no exchange given: a folder, a git+… URL or an http(s):// WebDAV URL')
  const kind = exchangeKind(url)
  if (kind === 'folder') return createFolderExchange(url.replace(/^dir:/, ''), options)
  const remote = kind === 'git' ? url.slice('git+'.length) : url
  let parsed: URL
  try {
    parsed = new URL(remote)
  } catch {
    throw exchangeError(url, 'not a valid URL')
  }
  // an ssh user name (git@host) is no secret; anything else in the URL may be a token
  if (parsed.password || (parsed.username && parsed.protocol !== 'ssh:')) {
    throw exchangeError(
      redact(parsed),
      'credentials in the URL would be stored in plain text; remove them and use ' +
        (kind === 'git' ? "git's credential helper or an ssh key" : 'MIRADOR_FEDERATION_TOKEN'),
    )
  }
  const local = parsed.protocol === 'file:'
  if (options.offline && !local) {
    throw exchangeError(url, '--offline (or MIRADOR_OFFLINE) forbids reaching a remote exchange; run without it')
  }
  if (kind === 'git') {
    if (!['file:', 'ssh:', 'https:', 'http:', 'git:'].includes(parsed.protocol)) {
      throw exchangeError(url, `git over ${parsed.protocol} is not supported; use git+file:, git+ssh: or git+https:`)
    }
    return createGitExchange(url, remote, options)
  }
  if (kind === 'webdav') return createWebdavExchange(parsed, options)
  throw exchangeError(
    url,
    'unknown kind of exchange: give a folder, git+file:// / git+ssh:// / git+https:// or an http(s):// WebDAV URL ' +
      '(an S3 bucket through a WebDAV gateway)',
  )
}

export function exchangeKind(url: string): 'folder' | 'git' | 'webdav' | 'unknown' {
  if (url.startsWith('git+')) return 'git'
  if (/^https?:\/\//i.test(url)) return 'webdav'
  if (url.startsWith('dir:') || path.isAbsolute(url) || url.startsWith('.') || !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(url)) {
    return 'folder'
  }
  return 'unknown'
}

function redact(u: URL): string {
  const c = new URL(u.href)
  c.username = ''
  c.password = ''
  return c.href
}
