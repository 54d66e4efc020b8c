/**
 * A loopback npm registry test double, speaking the part of the registry protocol the npm CLI
 * uses to view, pack and install: the packument (`GET /NAME`, scoped names as `@scope%2fname`)
 * with each version's `dist.tarball`, `dist.integrity` (sha512), `dist.shasum` and, when signed,
 * `dist.signatures` (ECDSA P-256 over `name@version:integrity`, as the public registry signs);
 * the tarballs; and the signing keys (`GET /-/npm/v1/keys`). Faults for tests: a version signed
 * by a key the registry does not publish, and a tarball served with other bytes than its
 * integrity says.
 */
import { execFileSync } from 'node:child_process'
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'

interface Published {
  manifest: Record<string, unknown>
  tarball: Buffer
  integrity: string
  shasum: string
  /** served instead of `tarball` (a tampered download) */
  served?: Buffer
  signatures?: { keyid: string; sig: string }[]
}

export interface PublishOptions {
  /** sign with the registry's key (default), with a key it does not publish ('rogue'), or not at all */
  sign?: 'registry' | 'rogue' | false
  /** serve other bytes than the integrity listed */
  tamper?: boolean
  publisher?: string
}

export interface NpmRegistry {
  url: string
  /** packs the package folder `dir` (as `package/`) and publishes it */
  publish(dir: string, opts?: PublishOptions): Published
  requests: string[]
  close(): Promise<void>
}

function keyPair(): { privateKey: KeyObject; publicDer: string; keyid: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const der = publicKey.export({ type: 'spki', format: 'der' })
  return {
    privateKey,
    publicDer: der.toString('base64'),
    keyid: `SHA256:${createHash('sha256').update(der).digest('base64')}`,
  }
}

export async function startNpmRegistry(): Promise<NpmRegistry> {
  const packages = new Map<string, Map<string, Published>>()
  const requests: string[] = []
  const key = keyPair()
  const rogue = keyPair()
  const work = mkdtempSync(path.join(os.tmpdir(), 'mirador-registry-'))
  let url = ''

  const packument = (name: string) => {
    const versions = packages.get(name)
    if (!versions) return undefined
    const all = [...versions.entries()]
    return {
      _id: name,
      name,
      'dist-tags': { latest: all[all.length - 1]![0] },
      versions: Object.fromEntries(
        all.map(([v, p]) => [
          v,
          {
            ...p.manifest,
            _id: `${name}@${v}`,
            dist: {
              tarball: `${url}${name}/-/${name.split('/').pop()}-${v}.tgz`,
              integrity: p.integrity,
              shasum: p.shasum,
              ...(p.signatures ? { signatures: p.signatures } : {}),
            },
          },
        ]),
      ),
      time: Object.fromEntries(all.map(([v]) => [v, new Date(0).toISOString()])),
    }
  }

  const server = http.createServer((req, res) => {
    const u = decodeURIComponent((req.url ?? '/').split('?')[0]!)
    requests.push(`${req.method} ${u}`)
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
    }
    if (u === '/-/npm/v1/keys')
      return json(200, {
        keys: [
          {
            expires: null,
            keyid: key.keyid,
            keytype: 'ecdsa-sha2-nistp256',
            scheme: 'ecdsa-sha2-nistp256',
            key: key.publicDer,
          },
        ],
      })
    const tgz = /^\/(.+)\/-\/[^/]+-(\d[^/]*)\.tgz$/.exec(u)
    if (tgz) {
      const p = packages.get(tgz[1]!)?.get(tgz[2]!)
      if (!p) return json(404, { error: 'not found' })
      res.writeHead(200, { 'content-type': 'application/octet-stream' })
      return res.end(p.served ?? p.tarball)
    }
    const doc = packument(u.slice(1))
    return doc ? json(200, doc) : json(404, { error: 'not found' })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

  return {
    get url() {
      return url
    },
    requests,
    publish(dir, opts = {}) {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as Record<string, unknown>
      const name = String(manifest.name)
      const version = String(manifest.version)
      const file = path.join(work, `${name.replace(/\//g, '-')}-${version}.tgz`)
      execFileSync('tar', ['-czf', file, '-C', dir, '--transform', 's,^\\.,package,', '.'])
      const tarball = readFileSync(file)
      const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`
      const signer = opts.sign === 'rogue' ? rogue : opts.sign === false ? undefined : key
      const p: Published = {
        manifest: { ...manifest, _npmUser: { name: opts.publisher ?? 'alice', email: 'alice@example.com' } },
        tarball,
        integrity,
        shasum: createHash('sha1').update(tarball).digest('hex'),
        ...(opts.tamper ? { served: Buffer.concat([tarball, Buffer.from('tampered')]) } : {}),
        ...(signer
          ? {
              signatures: [
                {
                  keyid: signer.keyid,
                  sig: sign('sha256', Buffer.from(`${name}@${version}:${integrity}`), signer.privateKey).toString(
                    'base64',
                  ),
                },
              ],
            }
          : {}),
      }
      const versions = packages.get(name) ?? new Map<string, Published>()
      versions.set(version, p)
      packages.set(name, versions)
      return p
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
