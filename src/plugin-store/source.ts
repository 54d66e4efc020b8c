/**
 * What a user names when checking or installing a plugin: a folder, a .tgz, or an npm package
 * name (with an optional version or range). Each becomes a tarball on disk with its integrity and
 * the package unpacked beside it, in a temporary folder the caller removes.
 */
import { copyFile, mkdir, readdir, stat } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import { runNpm } from './npm.js'
import { fetchFromRegistry, type RegistryInfo } from './registry.js'
import { extractTarball, integrityOf } from './tarball.js'

export type SourceKind = 'folder' | 'tarball' | 'npm'

export interface Fetched {
  kind: SourceKind
  /** the spec as the user gave it (absolute for a folder or a tarball) */
  spec: string
  tgz: string
  integrity: string
  /** the package unpacked */
  dir: string
  registry?: RegistryInfo
}

const TARBALL = /\.(?:tgz|tar\.gz)$/

export async function sourceKind(spec: string, cwd: string): Promise<SourceKind> {
  const full = path.resolve(cwd, spec)
  const st = await stat(full).catch(() => undefined)
  if (st?.isDirectory()) return 'folder'
  if (st?.isFile() && TARBALL.test(full)) return 'tarball'
  if (spec.startsWith('.') || path.isAbsolute(spec) || TARBALL.test(spec))
    throw new MiradorError('USAGE', `${spec} does not exist: give a plugin's folder, a .tgz, or an npm package name.`)
  return 'npm'
}

/** A folder packed as npm would publish it, with its scripts (prepack, prepare) not run. */
async function packFolder(dir: string, into: string): Promise<string> {
  const { stdout } = await runNpm(['pack', '--json', '--pack-destination', into], dir, `packing ${dir}`)
  const packed = (JSON.parse(stdout) as { filename: string }[])[0]
  const found = (await readdir(into)).filter((f) => f.endsWith('.tgz'))
  if (!packed || found.length !== 1) throw new MiradorError('PLUGIN_INSTALL', `npm pack of ${dir} made no tarball.`)
  return path.join(into, found[0]!)
}

export async function fetchSource(spec: string, cwd: string, tmp: string): Promise<Fetched> {
  const kind = await sourceKind(spec, cwd)
  const dl = path.join(tmp, 'tarball')
  await mkdir(dl, { recursive: true })
  let tgz: string
  let registry: RegistryInfo | undefined
  let given = spec
  if (kind === 'folder') {
    given = path.resolve(cwd, spec)
    tgz = await packFolder(given, dl)
  } else if (kind === 'tarball') {
    given = path.resolve(cwd, spec)
    tgz = path.join(dl, path.basename(given))
    await copyFile(given, tgz)
  } else {
    const r = await fetchFromRegistry(spec, dl)
    tgz = r.tgz
    registry = r.info
  }
  const integrity = await integrityOf(tgz)
  if (registry && registry.integrity !== integrity)
    throw new MiradorError(
      'PLUGIN_INTEGRITY',
      `${spec}: the tarball downloaded is not the one the registry lists (${integrity} instead of ` +
        `${registry.integrity}). Do not install it; try again later or ask the publisher.`,
    )
  const dir = path.join(tmp, 'package')
  await extractTarball(tgz, dir)
  return { kind, spec: given, tgz, integrity, dir, ...(registry ? { registry } : {}) }
}
