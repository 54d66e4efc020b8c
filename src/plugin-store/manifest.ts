/**
 * A plugin's manifest (its package.json `mirador` field) as the store reads it. Interim: the
 * loading pipeline's reader (src/engine/plugin-manifest.ts, `readPluginManifest(entryFile)`) takes
 * this one's place when it is merged; everything in the store calls `readManifest` below, so the
 * switch is its one line. Until then: the package.json read as JSON, `mirador` validated with the
 * shared ajv against schemas/plugin-manifest.schema.json, its errors at file:line:column.
 */
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type { ErrorObject } from 'ajv'
import type { Document, LineCounter } from 'yaml'
import type { PluginManifest, PluginPermissions } from '../engine/config/types.gen.js'
import { toMiradorErrors } from '../engine/config/schema-errors.js'
import { getOptionsValidator, inlineRefs, schemaAt } from '../engine/config/validate.js'
import { parseYamlSafe } from '../engine/config/yaml-safe.js'
import { MiradorError } from '../engine/errors.js'

/** The shape of the loading pipeline's LoadedPluginManifest (issue 12 contract). */
export interface LoadedPluginManifest {
  dir: string
  packageFile: string
  name: string
  version: string
  manifest: PluginManifest & { permissions: PluginPermissions }
  scripts: Record<string, string>
}

/** The manifest of the package in `dir`, or MiradorError PLUGIN_MANIFEST saying what to fix. */
export function readManifest(dir: string): Promise<LoadedPluginManifest> {
  return readPackageManifest(path.join(dir, 'package.json'))
}

const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/

function manifestError(message: string, location?: { file: string; line: number; column: number }): MiradorError {
  return new MiradorError('PLUGIN_MANIFEST', message, location ? { location } : {})
}

let validator: ReturnType<typeof getOptionsValidator> | undefined

async function readPackageManifest(packageFile: string): Promise<LoadedPluginManifest> {
  let text: string
  try {
    text = await readFile(packageFile, 'utf8')
  } catch {
    throw manifestError(`${packageFile} cannot be read: a plugin is a package with a package.json.`)
  }
  let pkg: Record<string, unknown>
  try {
    pkg = JSON.parse(text) as Record<string, unknown>
  } catch (err) {
    throw manifestError(`${packageFile} is not valid JSON (${(err as Error).message}): fix it.`)
  }
  if (typeof pkg.name !== 'string' || !PACKAGE_NAME.test(pkg.name))
    throw manifestError(`${packageFile} has no valid "name": a plugin needs an npm package name.`)
  if (typeof pkg.version !== 'string' || pkg.version === '')
    throw manifestError(`${packageFile} has no "version": add one, e.g. "1.0.0".`)
  const raw = pkg.mirador
  if (raw === undefined)
    throw manifestError(
      `${packageFile} has no "mirador" field: add one declaring what the plugin does, e.g. ` +
        '"mirador": { "apiVersion": 1, "hooks": ["prompt"], "permissions": {} } (docs/plugins.md).',
    )
  // a copy: the validator fills in defaults
  const manifest = structuredClone(raw) as PluginManifest
  validator ??= getOptionsValidator(inlineRefs(schemaAt('plugin-manifest.schema.json')))
  if (!validator(manifest)) throw locatedError(validator.errors ?? [], text, packageFile, pkg)
  return {
    dir: path.dirname(packageFile),
    packageFile,
    name: pkg.name,
    version: pkg.version,
    manifest: { ...manifest, permissions: manifest.permissions ?? {} },
    scripts: stringRecord(pkg.scripts),
  }
}

/** The first schema error, at its place in package.json (JSON is YAML: the config locator finds it). */
function locatedError(errors: ErrorObject[], text: string, file: string, pkg: unknown): MiradorError {
  const parsed = parseYamlSafe(text, file)
  const moved = errors.map((e) => ({ ...e, instancePath: `/mirador${e.instancePath}` }))
  const first = parsed.doc
    ? toMiradorErrors(moved, {
        file,
        value: pkg,
        doc: parsed.doc as Document,
        lineCounter: parsed.lineCounter as LineCounter,
      })[0]
    : undefined
  if (!first) return manifestError(`${file}: "mirador" does not match the manifest schema.`)
  return manifestError(first.message, first.location)
}

function stringRecord(v: unknown): Record<string, string> {
  if (!v || typeof v !== 'object') return {}
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'))
}
