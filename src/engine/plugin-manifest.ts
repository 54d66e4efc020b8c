/**
 * A third-party plugin's manifest: the `mirador` field of the package.json nearest to its entry
 * file, checked against schemas/plugin-manifest.schema.json. It says what the plugin does (the hooks
 * it taps, the capabilities it calls and offers, its template variables and stage keys) and what it
 * may reach (permissions) without running any of its code: plugin-scope.ts holds the plugin to it,
 * the sandbox grants exactly its permissions, and commands that run no chain read only it.
 *
 * package.json is JSON, which is YAML: JSON.parse gives the value, and the YAML loader's Document
 * (parsed only when there is an error to place) gives every problem its file:line:column.
 */
import { statSync } from 'node:fs'
import path from 'node:path'
import { readConfigText } from './config/load.js'
import { locate } from './config/locate.js'
import { toMiradorErrors } from './config/schema-errors.js'
import type { PluginManifest, PluginPermissions } from './config/types.gen.js'
import type { Loaded, SourceLocation } from './config/types.js'
import { getOptionsValidator } from './config/validate.js'
import { yaml } from './config/yaml-lib.js'
import { parseYamlSafe } from './config/yaml-safe.js'
import { MiradorError } from './errors.js'
import { API_VERSION, SUPPORTED_API_VERSIONS } from './plugins.js'

export interface LoadedPluginManifest {
  /** the plugin's package folder (where its package.json is) */
  dir: string
  packageFile: string
  /** package.json `name`, else the folder's name */
  name: string
  version: string
  manifest: PluginManifest & { permissions: PluginPermissions }
  /** package.json `scripts` (install checks refuse install scripts) */
  scripts: Record<string, string>
  /** package.json's own `name` and `version`, when it has them (publishing needs both) */
  declared: { name?: string; version?: string }
}

/** How a manifest starts, for the error that asks for one. */
const EXAMPLE = '"mirador": { "apiVersion": 1, "hooks": ["prompt"], "permissions": {} }'

/** package.json as far as the manifest goes; its `mirador` is checked against the manifest schema. */
const PACKAGE_SCHEMA = { type: 'object', properties: { mirador: { $ref: 'plugin-manifest.schema.json' } } }

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile()
  } catch {
    return false
  }
}

/** The package.json at or above `entryFile`, never above a node_modules folder (that is another package's). */
export function findPackageFile(entryFile: string): string | undefined {
  for (let dir = path.dirname(path.resolve(entryFile)); ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json')
    if (isFile(file)) return file
    if (path.basename(dir) === 'node_modules' || path.dirname(dir) === dir) return undefined
  }
}

function fail(plugin: string, message: string, location?: SourceLocation, details: Record<string, unknown> = {}) {
  return new MiradorError('PLUGIN_MANIFEST', message, {
    ...(location ? { location } : {}),
    details: { plugin, ...details },
  })
}

/** 1-based line and column of a character offset in `text`. */
function positionAt(file: string, text: string, offset: number): SourceLocation {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const line = before.split('\n').length
  return { file, line, column: before.length - before.lastIndexOf('\n') }
}

async function readPackage(file: string, plugin: string): Promise<{ text: string; pkg: Record<string, unknown> }> {
  let text: string
  try {
    // bounded and FIFO-safe, as every file Mirador reads for its configuration
    text = (await readConfigText(file)).replace(/^\uFEFF/, '')
  } catch (err) {
    throw fail(plugin, `plugin ${plugin}: ${err instanceof MiradorError ? err.format() : String(err)}`)
  }
  let pkg: unknown
  try {
    pkg = JSON.parse(text)
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    const at = /at position (\d+)/.exec(message)
    throw fail(
      plugin,
      `plugin ${plugin}: package.json is not valid JSON (${message.replace(/ in JSON at position \d+.*$/, '')}): fix it`,
      positionAt(file, text, at ? Number(at[1]) : text.length),
    )
  }
  if (!pkg || typeof pkg !== 'object' || Array.isArray(pkg)) {
    throw fail(plugin, `plugin ${plugin}: package.json must hold an object`, { file, line: 1, column: 1 })
  }
  return { text, pkg: pkg as Record<string, unknown> }
}

/** The package.json as a located document; without positions (1:1) if the YAML reader refuses it. */
function located(file: string, text: string, value: unknown): Loaded<unknown> {
  const parsed = parseYamlSafe(text, file)
  if (parsed.doc && parsed.errors.length === 0) return { file, value, doc: parsed.doc, lineCounter: parsed.lineCounter }
  return { file, value, doc: new (yaml().Document)(value), lineCounter: new (yaml().LineCounter)() }
}

/**
 * Reads and checks the manifest of the plugin whose resolved entry file is `entryFile` (any file of
 * its package leads to the same package.json). Throws
 * MiradorError PLUGIN_MANIFEST (with file:line:column) when there is no package.json, no `mirador`
 * field or one the schema refuses, and PLUGIN_API for an apiVersion this Mirador does not support.
 */
export async function readPluginManifest(entryFile: string): Promise<LoadedPluginManifest> {
  const packageFile = findPackageFile(entryFile)
  if (!packageFile) {
    throw fail(
      entryFile,
      `plugin ${entryFile} has no package.json at or above it: a plugin declares what it does in its ` +
        `package.json. Add one next to it (\`npm init -y\`) with ${EXAMPLE} (docs/plugins.md, Manifest)`,
    )
  }
  const dir = path.dirname(packageFile)
  const { text, pkg } = await readPackage(packageFile, entryFile)
  const name = typeof pkg.name === 'string' && pkg.name ? pkg.name : path.basename(dir)
  if (pkg.mirador === undefined) {
    throw fail(
      name,
      `plugin ${name}: package.json has no "mirador" field, so Mirador cannot tell what the plugin does ` +
        `or may reach. Add ${EXAMPLE}, listing the hooks it taps (docs/plugins.md, Manifest)`,
      locate(located(packageFile, text, pkg), ['name'], 'key'),
    )
  }
  // validated on a copy: the schema's defaults are filled in (childProcess: false)
  const value = { mirador: structuredClone(pkg.mirador) }
  const validate = getOptionsValidator(PACKAGE_SCHEMA, '')
  if (!validate(value)) {
    const errors = toMiradorErrors(validate.errors ?? [], located(packageFile, text, value))
    const first = errors[0]!
    throw fail(
      name,
      `plugin ${name}: package.json ${first.message.replace(/\.$/, '')} (docs/plugins.md, Manifest)`,
      first.location,
      { problems: errors.map((e) => e.format()) },
    )
  }
  const manifest = value.mirador as PluginManifest
  if (!SUPPORTED_API_VERSIONS.includes(manifest.apiVersion)) {
    const at = located(packageFile, text, value)
    throw new MiradorError(
      'PLUGIN_API',
      `plugin ${name} declares mirador.apiVersion ${manifest.apiVersion}; this Mirador supports ` +
        `${SUPPORTED_API_VERSIONS.join(', ')}. ` +
        `Use a version of the plugin made for API ${API_VERSION}, or upgrade Mirador.`,
      { location: locate(at, ['mirador', 'apiVersion']), details: { plugin: name } },
    )
  }
  const scripts = Object.fromEntries(
    Object.entries(pkg.scripts && typeof pkg.scripts === 'object' ? pkg.scripts : {}).filter(
      (e): e is [string, string] => typeof e[1] === 'string',
    ),
  )
  return {
    dir,
    packageFile,
    name,
    version: typeof pkg.version === 'string' ? pkg.version : '0.0.0',
    manifest: { ...manifest, permissions: manifest.permissions ?? {} },
    scripts,
    declared: {
      ...(typeof pkg.name === 'string' ? { name: pkg.name } : {}),
      ...(typeof pkg.version === 'string' ? { version: pkg.version } : {}),
    },
  }
}

/**
 * Where `at` (a path under `mirador`) is in a package.json, for problems found once the manifest is
 * read (a command named like one of Mirador's own); undefined when the file cannot be read again.
 */
export async function manifestLocation(
  packageFile: string,
  at: readonly (string | number)[],
  target: 'value' | 'key' = 'value',
): Promise<SourceLocation | undefined> {
  try {
    const text = (await readConfigText(packageFile)).replace(/^\uFEFF/, '')
    return locate(located(packageFile, text, JSON.parse(text)), ['mirador', ...at], target)
  } catch {
    return undefined
  }
}
