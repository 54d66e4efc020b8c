/**
 * Plugins from an npm registry: the version a spec names (`npm view`), its tarball (`npm pack`,
 * which checks the download against the registry's integrity), and the registry's signature over
 * `name@version:integrity` checked against the keys the registry publishes (`/-/npm/v1/keys`),
 * as `npm audit signatures` does. A registry that signs nothing is reported as such (signatures
 * "none"); a signature that does not verify, or by an unknown key, refuses the plugin.
 */
import { verify } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { runNpm } from './npm.js'

export interface RegistryInfo {
  name: string
  version: string
  integrity: string
  registry: string
  tarball: string
  /** who published this version, as the registry says */
  publisher?: string
  signatures: 'verified' | 'none'
}

interface Dist {
  tarball?: string
  integrity?: string
  signatures?: { keyid: string; sig: string }[]
}

interface ViewResult {
  name: string
  version: string
  dist?: Dist
  _npmUser?: { name?: string } | string
  maintainers?: ({ name?: string } | string)[]
}

function personName(p: { name?: string } | string | undefined): string | undefined {
  if (typeof p === 'string') return p.replace(/\s*<.*$/, '')
  return p?.name
}

async function registryUrl(cwd: string): Promise<string> {
  const { stdout } = await runNpm(['config', 'get', 'registry'], cwd, 'reading npm registry')
  return stdout.trim().replace(/\/?$/, '/')
}

async function checkSignatures(info: RegistryInfo, dist: Dist): Promise<void> {
  const keysUrl = new URL('-/npm/v1/keys', info.registry)
  let keys: { keyid: string; key: string; expires?: string | null }[]
  try {
    const res = await fetch(keysUrl, { signal: AbortSignal.timeout(15_000) })
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    keys = ((await res.json()) as { keys: typeof keys }).keys
  } catch (err) {
    throw new MiradorError(
      'PLUGIN_INTEGRITY',
      `${info.name}@${info.version} is signed, but the registry's keys (${keysUrl.href}) cannot be read ` +
        `(${(err as Error).message}): try again when the registry answers.`,
    )
  }
  const message = Buffer.from(`${info.name}@${info.version}:${info.integrity}`)
  for (const s of dist.signatures ?? []) {
    const key = keys.find((k) => k.keyid === s.keyid)
    const ok =
      key !== undefined &&
      verify(
        'sha256',
        message,
        { key: `-----BEGIN PUBLIC KEY-----\n${key.key}\n-----END PUBLIC KEY-----`, format: 'pem' },
        Buffer.from(s.sig, 'base64'),
      )
    if (!ok)
      throw new MiradorError(
        'PLUGIN_INTEGRITY',
        `${info.name}@${info.version}: the registry's signature ` +
          `${key ? 'does not verify' : `is by an unknown key (${s.keyid})`}. ` +
          'Do not install it: the package or the registry metadata was changed.',
      )
  }
}

/** Downloads the tarball of `spec` into `into`, its integrity and signatures checked. */
export async function fetchFromRegistry(spec: string, into: string): Promise<{ tgz: string; info: RegistryInfo }> {
  const { stdout } = await runNpm(['view', spec, '--json'], into, `looking up ${spec}`)
  if (stdout.trim() === '')
    throw new MiradorError('PLUGIN_INSTALL', `${spec}: no version of it on the registry matches. Check the name.`)
  const parsed = JSON.parse(stdout) as ViewResult | ViewResult[]
  const view = Array.isArray(parsed) ? parsed[parsed.length - 1] : parsed
  if (!view?.dist?.integrity?.startsWith('sha512-') || !view.dist.tarball)
    throw new MiradorError(
      'PLUGIN_INTEGRITY',
      `${spec}: the registry gives no sha512 integrity for it, so it cannot be pinned. ` +
        'Install it from a .tgz you trust.',
    )
  const registry = await registryUrl(into)
  const publisher = personName(view._npmUser) ?? personName(view.maintainers?.[0])
  const info: RegistryInfo = {
    name: view.name,
    version: view.version,
    integrity: view.dist.integrity,
    registry,
    tarball: view.dist.tarball,
    ...(publisher ? { publisher } : {}),
    signatures: view.dist.signatures?.length ? 'verified' : 'none',
  }
  if (view.dist.signatures?.length) await checkSignatures(info, view.dist)
  await runNpm(
    ['pack', `${view.name}@${view.version}`, '--json', '--pack-destination', into],
    into,
    `downloading ${spec}`,
  )
  const found = (await readdir(into)).filter((f) => f.endsWith('.tgz'))
  if (found.length !== 1) throw new MiradorError('PLUGIN_INSTALL', `npm pack of ${spec} made no tarball.`)
  return { tgz: path.join(into, found[0]!), info }
}
