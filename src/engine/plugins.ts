/**
 * The plugin contract and loader. A plugin is an object (or class instance) with `name`,
 * `apiVersion` and `apply(engine)`; `apply` only taps hooks and registers what the plugin
 * contributes. Built-in and third-party plugins are loaded the same way. A plugin that cannot be
 * loaded, declares an unsupported apiVersion, gets bad options or throws in `apply` is reported by
 * name and the engine goes on without it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { MiradorError } from './errors.js'
import type { PluginHost } from './engine.js'

/** The plugin API version this engine implements. Bumped only on breaking hook changes. */
export const API_VERSION = 1
export const SUPPORTED_API_VERSIONS: readonly number[] = [1]

export interface MiradorPlugin {
  readonly name: string
  readonly apiVersion: number
  apply(engine: PluginHost): void
}

/** One entry of `plugins:` in mirador.config.yaml. */
export type PluginEntry = string | { name: string; options?: unknown }

export function checkPlugin(candidate: unknown, source: string): MiradorPlugin {
  const p = candidate as Partial<MiradorPlugin> | null
  if (!p || typeof p !== 'object' || typeof p.apply !== 'function') {
    throw new MiradorError(
      'PLUGIN_LOAD',
      `plugin ${source} does not export a plugin: expected an object with name, apiVersion and apply(engine)`,
      { details: { plugin: source } },
    )
  }
  const name = typeof p.name === 'string' && p.name ? p.name : source
  if (typeof p.name !== 'string' || !p.name) {
    throw new MiradorError('PLUGIN_LOAD', `plugin ${source} has no name: give it a \`name\` string`, {
      details: { plugin: source },
    })
  }
  if (typeof p.apiVersion !== 'number' || !SUPPORTED_API_VERSIONS.includes(p.apiVersion)) {
    throw new MiradorError(
      'PLUGIN_API',
      `plugin ${name} declares apiVersion ${String(p.apiVersion)}; ` +
        `this Mirador supports ${SUPPORTED_API_VERSIONS.join(', ')}. ` +
        `Use a version of the plugin made for API ${API_VERSION}, or upgrade Mirador.`,
      { details: { plugin: name } },
    )
  }
  return p as MiradorPlugin
}

/** What a module exports as a plugin, when it is a function: a class or a factory, called with the options. */
type PluginFactory = ((options: unknown) => unknown) & (new (options: unknown) => unknown)

/** Turns a module's export into a plugin instance, passing the options from config. */
export function instantiate(exported: unknown, options: unknown, source: string): MiradorPlugin {
  let value = exported
  if (typeof value === 'function') {
    const fn = value as PluginFactory
    const isClass =
      /^class[\s{]/.test(Function.prototype.toString.call(fn)) ||
      typeof (fn.prototype as { apply?: unknown } | undefined)?.apply === 'function'
    try {
      value = isClass ? new fn(options) : fn(options)
    } catch (err) {
      throw MiradorError.is(err)
        ? err
        : new MiradorError(
            'PLUGIN_OPTIONS',
            `plugin ${source} rejected its options: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err, details: { plugin: source } },
          )
    }
  }
  return checkPlugin(value, source)
}

/** Finds the file to import for a plugin named by path (relative to `baseDir`) or package name. */
export function resolvePluginEntry(spec: string, baseDir: string): string {
  const isPath = spec.startsWith('.') || path.isAbsolute(spec)
  let target: string | undefined
  if (isPath) {
    target = path.resolve(baseDir, spec)
    if (!existsSync(target))
      throw new MiradorError(
        'PLUGIN_LOAD',
        `plugin ${spec} not found at ${target}: check the path in plugins: (it is relative to the config file)`,
        { details: { plugin: spec } },
      )
  } else {
    for (let dir = baseDir; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, 'node_modules', spec)
      if (existsSync(candidate)) {
        target = candidate
        break
      }
      if (path.dirname(dir) === dir) break
    }
    if (!target)
      throw new MiradorError(
        'PLUGIN_LOAD',
        `plugin package ${spec} is not installed: run \`npm install ${spec}\` in ${baseDir}`,
        { details: { plugin: spec } },
      )
  }
  return statSync(target).isDirectory() ? packageMain(target, spec) : target
}

function packageMain(dir: string, spec: string): string {
  const pkgFile = path.join(dir, 'package.json')
  let entry = 'index.js'
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { main?: string; exports?: unknown }
    entry = exportEntry(pkg.exports) ?? pkg.main ?? entry
  }
  const file = path.resolve(dir, entry)
  if (!existsSync(file))
    throw new MiradorError('PLUGIN_LOAD', `plugin ${spec}: its entry ${file} does not exist (is the package built?)`, {
      details: { plugin: spec },
    })
  return file
}

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

/** Imports and instantiates one configured plugin. Throws MiradorError (PLUGIN_*) on failure. */
export async function loadPlugin(entry: PluginEntry, baseDir: string): Promise<MiradorPlugin> {
  const spec = typeof entry === 'string' ? entry : entry.name
  const options = typeof entry === 'string' ? undefined : entry.options
  const file = resolvePluginEntry(spec, baseDir)
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (err) {
    throw new MiradorError(
      'PLUGIN_LOAD',
      `plugin ${spec} failed to load: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err, details: { plugin: spec } },
    )
  }
  return instantiate(mod.default ?? mod, options, spec)
}
