/**
 * A WebDAV exchange (http:// or https://, e.g. Nextcloud, Apache mod_dav, rclone serve webdav, or a
 * WebDAV gateway in front of an S3 bucket), through the `webdav` client, imported only when used.
 * Create-only without trusting the server to honour `If-None-Match: *`: the file is PUT under a
 * temp name and MOVEd to its own with `Overwrite: F`, which a WebDAV server must refuse (412) when
 * the name is taken.
 */
import { randomBytes } from 'node:crypto'
import type { FileStat, WebDAVClient } from 'webdav'
import { networkCode, networkReason } from '../../../lib/network-code.js'
import { checkDir, checkPath, exchangeError, refuseOtherBytes, sortNames, throwIfAborted, visible } from './errors.js'
import type { Exchange, ExchangeOptions } from './types.js'

export function createWebdavExchange(url: URL, options: ExchangeOptions): Exchange {
  const { signal, onProgress } = options
  const name = url.href
  const token = (options.env ?? process.env).MIRADOR_FEDERATION_TOKEN
  if (token && url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw exchangeError(name, 'MIRADOR_FEDERATION_TOKEN is never sent over plain http:// to another host; use https://')
  }
  let client: Promise<WebDAVClient> | undefined
  const made = new Set<string>()

  const connect = () =>
    (client ??= import('webdav').then(({ createClient }) => {
      if (!token) return createClient(url.href)
      const colon = token.indexOf(':')
      // "user:password" is basic auth, anything else a bearer token
      return colon > 0
        ? createClient(url.href, { username: token.slice(0, colon), password: token.slice(colon + 1) })
        : createClient(url.href, { headers: { Authorization: `Bearer ${token}` } })
    }))

  const fail = (what: string, err: unknown) => {
    const status = (err as { status?: number }).status
    if (status === 401 || status === 403) {
      return exchangeError(
        name,
        `${what}: the server refused access (HTTP ${status}); set MIRADOR_FEDERATION_TOKEN`,
        err,
      )
    }
    if (status) return exchangeError(name, `${what}: the server answered HTTP ${status}`, err)
    const code = networkCode(err)
    if (!code) return exchangeError(name, `${what} (${err instanceof Error ? err.message : String(err)})`, err)
    return exchangeError(name, `${what}: cannot reach the server (${networkReason(code) ?? code})`, err)
  }
  const statusOf = (err: unknown) => (err as { status?: number }).status

  async function get(file: string): Promise<Uint8Array | undefined> {
    checkPath(name, file)
    throwIfAborted(name, signal)
    const c = await connect()
    try {
      const body = await c.getFileContents(file, { format: 'binary', signal })
      return new Uint8Array(body as ArrayBuffer)
    } catch (err) {
      if (statusOf(err) === 404) return undefined
      throw fail(`cannot read ${file}`, err)
    }
  }

  async function makeDirs(c: WebDAVClient, dir: string): Promise<void> {
    const parts = dir ? dir.split('/') : []
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/')
      if (made.has(d)) continue
      // 405: it exists already (another member made it first)
      await c.createDirectory(d, { signal }).catch((err: unknown) => {
        if (statusOf(err) !== 405) throw fail(`cannot create the folder ${d}`, err)
      })
      made.add(d)
    }
  }

  return {
    name,
    async list(dir) {
      const d = checkDir(name, dir)
      throwIfAborted(name, signal)
      const c = await connect()
      try {
        const items = (await c.getDirectoryContents(d || '/', { signal })) as FileStat[]
        return sortNames(items.filter((i) => i.type === 'file' && visible(i.basename)).map((i) => i.basename))
      } catch (err) {
        if (statusOf(err) === 404 && d) return []
        throw fail(`cannot list ${d || 'the exchange'}`, err)
      }
    },
    get,
    async put(file, bytes) {
      checkPath(name, file)
      const there = await get(file)
      if (there) {
        refuseOtherBytes(name, file, there, bytes)
        return
      }
      const c = await connect()
      const slash = file.lastIndexOf('/')
      const dir = slash < 0 ? '' : file.slice(0, slash)
      await makeDirs(c, dir)
      const tmp = `${dir ? `${dir}/` : ''}.${file.slice(slash + 1)}.${randomBytes(6).toString('hex')}.tmp`
      try {
        // the client takes a Buffer or an ArrayBuffer, not any Uint8Array
        await c.putFileContents(tmp, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
          overwrite: false,
          signal,
        })
      } catch (err) {
        throw fail(`cannot write ${file}`, err)
      }
      try {
        await c.moveFile(tmp, file, { overwrite: false, signal })
      } catch (err) {
        await c.deleteFile(tmp, { signal }).catch(() => {})
        if (statusOf(err) !== 412) throw fail(`cannot write ${file}`, err)
        const now = await get(file)
        refuseOtherBytes(name, file, now, bytes)
      }
      onProgress?.({ kind: 'put', path: file })
    },
    async sync() {
      // the server is the one copy: there is nothing to pull
      throwIfAborted(name, signal)
      onProgress?.({ kind: 'sync' })
    },
    async close() {},
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '[::1]' || /^127\./.test(host)
}
