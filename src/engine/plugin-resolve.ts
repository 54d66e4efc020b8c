/**
 * Which file a `plugins:` entry of mirador.config.yaml names. A path resolves the way Node resolves
 * one for `require`, which is what a plugin's author expects of `./plugins/my-plugin`: the exact
 * file, then with `.js`, `.mjs`, `.cjs`, then a folder as a package (its package.json's `exports`,
 * else `main`) or its index.js. A package name is looked up in the node_modules folders from the
 * config file's folder up. When nothing is found the error says what was tried and, for a path,
 * names a near file of that folder.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { didYouMean } from './config/message-words.js'
import { MiradorError } from './errors.js'

const EXTENSIONS = ['.js', '.mjs', '.cjs']

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory()
  } catch {
    return false
  }
}

function fail(spec: string, message: string, details: Record<string, unknown> = {}): MiradorError {
  return new MiradorError('PLUGIN_LOAD', message, { details: { plugin: spec, ...details } })
}

/** The file itself, then with each extension: the first that is a regular file. */
function asFile(target: string, tried: string[]): string | undefined {
  for (const candidate of [target, ...EXTENSIONS.map((e) => target + e)]) {
    tried.push(candidate)
    if (isFile(candidate)) return candidate
  }
  return undefined
}

/** A folder as a package: the file its package.json exports, else its `main`, else its index.js. */
function asFolder(dir: string, spec: string, tried: string[]): string | undefined {
  const pkgFile = path.join(dir, 'package.json')
  let pkg: { main?: unknown; exports?: unknown } = {}
  if (isFile(pkgFile)) {
    try {
      pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as typeof pkg
    } catch (err) {
      throw fail(spec, `plugin ${spec}: ${pkgFile} is not valid JSON (${(err as Error).message}): fix it`)
    }
  }
  const exported = exportEntry(pkg.exports)
  if (exported !== undefined || typeof pkg.main === 'string') {
    const named = path.resolve(dir, exported ?? String(pkg.main))
    // `exports` names one exact file; `main` is completed as Node completes it
    const file = exported !== undefined ? (isFile(named) ? named : undefined) : asFile(named, tried)
    if (file) return file
    throw fail(
      spec,
      `plugin ${spec}: its package.json names ${named} (${exported !== undefined ? 'exports' : 'main'}), ` +
        'which does not exist: is the package built?',
    )
  }
  const index = path.join(dir, 'index.js')
  tried.push(index)
  return isFile(index) ? index : undefined
}

/** The file of `exports` for `.`, under the conditions a plugin is imported with. */
function exportEntry(exp: unknown): string | undefined {
  if (typeof exp === 'string') return exp
  if (!exp || typeof exp !== 'object') return undefined
  const e = exp as Record<string, unknown>
  const root = '.' in e ? e['.'] : e
  if (typeof root === 'string') return root
  if (root && typeof root === 'object') {
    const r = root as Record<string, unknown>
    for (const cond of ['import', 'node', 'default']) {
      const v = r[cond]
      if (typeof v === 'string') return v
      if (v && typeof v === 'object' && typeof (v as Record<string, unknown>).default === 'string')
        return (v as Record<string, string>).default
    }
  }
  return undefined
}

/**
 * A near name for a missing `target` in its folder (`my-plugn` → `my-plugin.js`), or for the first
 * missing folder on the way to it; as it would be written in the entry.
 */
function nearPath(spec: string, baseDir: string): string | undefined {
  const parts = spec.split(/[\\/]/)
  let dir = path.isAbsolute(spec) ? path.parse(path.resolve(spec)).root : baseDir
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!
    if (part === '') continue
    const here = path.resolve(dir, part)
    if (existsSync(here)) {
      dir = here
      continue
    }
    let names: string[]
    try {
      names = readdirSync(dir)
    } catch {
      return undefined
    }
    // the last part may name a file without its extension, as the entry would
    const candidates = i === parts.length - 1 ? names.flatMap((n) => [n, n.replace(/\.(c|m)?js$/, '')]) : names
    const guess = didYouMean(
      part,
      [...new Set(candidates)].filter((n) => n !== part),
    )
    return guess === undefined ? undefined : [...parts.slice(0, i), guess].join('/')
  }
  return undefined
}

/**
 * Finds the file to import for a plugin named by path (relative to `baseDir`) or by package name;
 * a package name is also looked up in `extraNodeModules` (the plugins the user installed).
 */
export function resolvePluginEntry(spec: string, baseDir: string, extraNodeModules: readonly string[] = []): string {
  if (spec.startsWith('.') || path.isAbsolute(spec)) {
    const target = path.resolve(baseDir, spec)
    const files: string[] = []
    const file = asFile(target, files) ?? (isDir(target) ? asFolder(target, spec, files) : undefined)
    if (file) return file
    const near = nearPath(spec, baseDir)
    const absolute = path.isAbsolute(spec)
    const rel = absolute ? target : path.relative(baseDir, target) || '.'
    const tried = isDir(target)
      ? `${rel}.js, .mjs, .cjs and the folder ${rel}/, which has no package.json exports or main and no index.js`
      : `${rel}, ${rel}.js, .mjs, .cjs and a folder ${rel}/ (with package.json or index.js)`
    throw fail(
      spec,
      `plugin ${spec} not found: tried ${tried}${absolute ? '' : ', relative to the config file'}.` +
        (near ? ` Did you mean "${near}"?` : ''),
      { tried: files },
    )
  }
  const folders: string[] = []
  for (let dir = baseDir; ; dir = path.dirname(dir)) {
    folders.push(path.join(dir, 'node_modules'))
    if (path.dirname(dir) === dir) break
  }
  for (const nodeModules of [...folders, ...extraNodeModules]) {
    const candidate = path.join(nodeModules, spec)
    if (isDir(candidate)) {
      const file = asFolder(candidate, spec, [])
      if (file) return file
      throw fail(spec, `plugin package ${spec} (${candidate}) has no package.json exports or main, and no index.js`)
    }
  }
  throw fail(spec, `plugin package ${spec} is not installed: run \`npm install ${spec}\` in ${baseDir}`)
}
