/**
 * Installing and removing plugins in $MIRADOR_HOME/plugins. An install happens in two steps:
 *
 * 1. prepare: the plugin is fetched (a folder packed without its scripts, a .tgz, an npm
 *    package with its integrity and signatures checked), the allow/deny list consulted, and it is
 *    installed with its dependencies into a staging folder (npm, scripts off, dev dependencies
 *    left out, @mirador/plugin-api linked to Mirador's own copy rather than fetched); the staged
 *    package and its dependencies are checked (check.ts);
 * 2. commit, once the user agreed: under the store's lock, the tarball is kept in the store, npm
 *    installs it there (scripts off), the installed files must be the files checked, and the lock
 *    file pins them; the plugin is then enabled in $MIRADOR_HOME/config.yaml.
 *
 * A plugin whose check fails (invalid manifest, an install script, an error finding) is refused
 * before anything in the store changes.
 */
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises'
import path from 'node:path'
import { PACKAGE_ROOT } from '../engine/package-root.js'
import { MiradorError } from '../engine/errors.js'
import { writeFileAtomic } from '../lib/atomic-write.js'
import { withFileLock } from '../lib/file-lock.js'
import { checkPackage, type CheckReport } from './check.js'
import { behaviourLine, findingText } from './describe.js'
import { compareTrees, hashDependencies, hashTree, unchanged } from './file-hashes.js'
import { readLockFile, writeLockFile, type LockedPlugin } from './lock-file.js'
import { runNpm } from './npm.js'
import { storePaths, type StorePaths } from './paths.js'
import { assertAllowed, readPolicy } from './policy.js'
import { fetchSource, type Fetched } from './source.js'
import { disablePlugin, enablePlugin } from './user-config.js'

export const PLUGIN_API_PACKAGE = '@mirador/plugin-api'
const PLUGIN_API_DIR = path.join(PACKAGE_ROOT, 'packages', 'plugin-api')
/** npm can take a while; another Mirador installing meanwhile waits rather than fails */
const STORE_LOCK = { timeoutMs: 300_000, what: 'the plugin store' }

export interface Prepared {
  name: string
  version: string
  fetched: Fetched
  report: CheckReport
  /** sha256 of each file of the staged package */
  files: Record<string, string>
  /** what the lock file has for this name now, if installed */
  previous?: LockedPlugin
}

interface StorePackage {
  name?: string
  private?: boolean
  dependencies?: Record<string, string>
  overrides?: Record<string, string>
  [k: string]: unknown
}

/** A package.json that installs `deps`, with Mirador's plugin API in place of any copy a plugin asks for. */
function storeManifest(base: StorePackage, deps: Record<string, string>): StorePackage {
  return {
    ...base,
    name: 'mirador-plugins',
    private: true,
    dependencies: { ...deps, [PLUGIN_API_PACKAGE]: `file:${PLUGIN_API_DIR}` },
    overrides: { ...base.overrides, [PLUGIN_API_PACKAGE]: `$${PLUGIN_API_PACKAGE}` },
  }
}

const INSTALL_ARGS = ['install', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts']

async function readStorePackage(file: string): Promise<StorePackage> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StorePackage
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new MiradorError('PLUGIN_INSTALL', `${file} cannot be read (${(err as Error).message}): fix or remove it.`)
  }
}

async function packageName(dir: string): Promise<{ name: string; version: string }> {
  const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8').catch(() => '{}')) as StorePackage
  if (typeof pkg.name !== 'string' || typeof pkg.version !== 'string')
    throw new MiradorError('PLUGIN_MANIFEST', 'the package has no name or version in its package.json.')
  return { name: pkg.name, version: pkg.version as string }
}

/** Staging folders an interrupted install left (a day old: none can still be in use). */
async function removeStaleStaging(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith('.staging-')) continue
    const st = await stat(path.join(dir, name)).catch(() => undefined)
    if (st && Date.now() - st.mtimeMs > 86_400_000) await rm(path.join(dir, name), { recursive: true, force: true })
  }
}

/** A folder for one install under the store (same file system: nothing crosses devices). */
export async function withStaging<T>(home: string, fn: (tmp: string) => Promise<T>): Promise<T> {
  const p = storePaths(home)
  await mkdir(p.dir, { recursive: true })
  await removeStaleStaging(p.dir)
  const tmp = await mkdtemp(path.join(p.dir, '.staging-'))
  try {
    return await fn(tmp)
  } finally {
    await rm(tmp, { recursive: true, force: true })
  }
}

export async function prepareInstall(spec: string, cwd: string, home: string, tmp: string): Promise<Prepared> {
  const p = storePaths(home)
  const fetched = await fetchSource(spec, cwd, path.join(tmp, 'source'))
  const { name, version } = await packageName(fetched.dir)
  assertAllowed(readPolicy(p.policy), name, fetched.integrity, p.policy)
  if (name === PLUGIN_API_PACKAGE)
    throw new MiradorError('PLUGIN_INSTALL', `${name} is provided by Mirador itself; it is not installed as a plugin.`)
  const stage = path.join(tmp, 'stage')
  await mkdir(stage)
  await writeFileAtomic(
    path.join(stage, 'package.json'),
    JSON.stringify(storeManifest({}, { [name]: `file:${fetched.tgz}` }), null, 2),
  )
  await runNpm([...INSTALL_ARGS, '--no-package-lock'], stage, `installing ${name}'s dependencies`)
  const dir = path.join(stage, 'node_modules', name)
  const report = await checkPackage(dir, { nodeModules: path.join(stage, 'node_modules'), home })
  const previous = (await readLockFile(p.lock)).plugins[name]
  return { name, version, fetched, report, files: await hashTree(dir), ...(previous ? { previous } : {}) }
}

/** Why a prepared plugin is refused, one reason a line; empty when it may be installed. */
export function refusals(r: CheckReport): string[] {
  const out: string[] = []
  if (r.manifestError) out.push(`its manifest: ${r.manifestError.message}`)
  for (const s of r.installScripts)
    out.push(`${s.package} has an install script (${s.script}: ${s.command}); Mirador never runs install scripts`)
  const errors = r.findings.filter((f) => f.severity === 'error')
  for (const f of errors.slice(0, 5)) out.push(findingText(f))
  if (errors.length > 5) out.push(`and ${errors.length - 5} more error findings`)
  return out
}

const ownFiles = (files: Record<string, string>) =>
  Object.fromEntries(Object.entries(files).filter(([f]) => !f.startsWith('node_modules/')))

/** Installs what `prepareInstall` staged and checked; returns the lock file's new entry. */
export async function commitInstall(prepared: Prepared, home: string): Promise<LockedPlugin> {
  const p = storePaths(home)
  const { name, version, fetched, report } = prepared
  const entry = await withFileLock(
    path.join(p.dir, '.lock'),
    async () => {
      await mkdir(p.tarballs, { recursive: true })
      const hash = Buffer.from(fetched.integrity.slice('sha512-'.length), 'base64').toString('hex').slice(0, 12)
      const tarball = `${name.replace(/^@/, '').replace(/\//g, '-')}-${version}-${hash}.tgz`
      await copyFile(fetched.tgz, path.join(p.tarballs, tarball))
      const before = await readStorePackage(p.packageJson)
      const deps = { ...before.dependencies, [name]: `file:tarballs/${tarball}` }
      await writeStore(p, storeManifest(before, deps), before, `installing ${name}`)
      const files = await hashTree(path.join(p.nodeModules, name))
      // the store's npm may place shared dependencies elsewhere; the plugin's own files must be the ones checked
      const drift = compareTrees(ownFiles(prepared.files), ownFiles(files))
      if (!unchanged(drift))
        throw new MiradorError(
          'PLUGIN_INTEGRITY',
          `${name}: the files installed are not the files checked (${[...drift.changed, ...drift.added].join(', ')}).`,
        )
      const locked: LockedPlugin = {
        name,
        version,
        source: {
          kind: fetched.kind,
          spec: fetched.spec,
          ...(fetched.registry ? { registry: fetched.registry.registry } : {}),
        },
        integrity: fetched.integrity,
        tarball: `tarballs/${tarball}`,
        files,
        manifest: report.manifest!,
        findings: { summary: report.summary, list: report.findings, behaviour: behaviourLine(report.behaviour) },
        ...(fetched.registry?.publisher ? { publisher: fetched.registry.publisher } : {}),
        signatures: fetched.registry ? fetched.registry.signatures : 'not applicable',
        installedAt: new Date().toISOString(),
      }
      const lock = await readLockFile(p.lock)
      const old = lock.plugins[name]
      lock.plugins[name] = locked
      lock.dependencies = await hashDependencies(p.nodeModules, Object.keys(lock.plugins))
      await writeLockFile(p.lock, lock)
      if (old && old.tarball !== locked.tarball) await rm(path.join(p.dir, old.tarball), { force: true })
      return locked
    },
    STORE_LOCK,
  )
  await enablePlugin(p.config, name)
  return entry
}

/** Writes the store's package.json and lets npm make node_modules match; the old one is restored if npm fails. */
async function writeStore(p: StorePaths, next: StorePackage, before: StorePackage, what: string): Promise<void> {
  await writeFileAtomic(p.packageJson, `${JSON.stringify(next, null, 2)}\n`)
  try {
    await runNpm(INSTALL_ARGS, p.dir, what)
  } catch (err) {
    await writeFileAtomic(p.packageJson, `${JSON.stringify(before, null, 2)}\n`)
    throw err
  }
}

/** Removes an installed plugin: from the store, the lock file and the user's config. */
export async function removePlugin(name: string, home: string): Promise<LockedPlugin> {
  const p = storePaths(home)
  const removed = await withFileLock(
    path.join(p.dir, '.lock'),
    async () => {
      const lock = await readLockFile(p.lock)
      const locked = lock.plugins[name]
      if (!locked) throw notInstalled(name, Object.keys(lock.plugins))
      const before = await readStorePackage(p.packageJson)
      const deps = Object.fromEntries(Object.entries(before.dependencies ?? {}).filter(([k]) => k !== name))
      delete deps[PLUGIN_API_PACKAGE]
      await writeStore(p, storeManifest(before, deps), before, `removing ${name}`)
      delete lock.plugins[name]
      lock.dependencies = await hashDependencies(p.nodeModules, Object.keys(lock.plugins))
      await writeLockFile(p.lock, lock)
      await rm(path.join(p.dir, locked.tarball), { force: true })
      return locked
    },
    STORE_LOCK,
  )
  await disablePlugin(p.config, name)
  return removed
}

export function notInstalled(name: string, installed: string[]): MiradorError {
  return new MiradorError(
    'USAGE',
    `${name} is not installed. Installed plugins: ${installed.join(', ') || 'none'} (mirador plugins ls).`,
  )
}
