/**
 * The plugin contract and loader. A plugin is an object (or class instance) with `name`,
 * `apiVersion` and `apply(engine)`; `apply` only taps hooks and registers what the plugin
 * contributes. A third-party plugin declares what it does in its package.json (`mirador`,
 * plugin-manifest.ts) and is held to it (plugin-scope.ts): in Mirador's process when its entry says
 * `trusted: true`, else in a sandboxed process (plugin-sandbox-slot.ts). A plugin that cannot be
 * loaded, declares an unsupported apiVersion, gets bad options or throws in `apply` is reported by
 * name and its taps are switched off; a run stops before any stage when it is one the config lists
 * without `optional: true` (stopsRuns), and goes on without it otherwise.
 */
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { PluginName, PluginRef } from './config/types.gen.js'
import { sentence } from './config/message-words.js'
import type { SourceLocation } from './config/types.js'
import { MiradorError } from './errors.js'
import type { PluginHost } from './engine.js'
import { PACKAGE_ROOT } from './package-root.js'
import { readPluginManifest, type LoadedPluginManifest } from './plugin-manifest.js'
import { resolvePluginEntry } from './plugin-resolve.js'
import { sandboxedPlugin, type SandboxFactory } from './plugin-sandbox-slot.js'
import { declaredOnly, scopedPlugin } from './plugin-scope.js'

/** The plugin API version this engine implements. Bumped only on breaking hook changes. */
export const API_VERSION = 1
export const SUPPORTED_API_VERSIONS: readonly number[] = [1]

export interface MiradorPlugin {
  readonly name: string
  readonly apiVersion: number
  apply(engine: PluginHost): void
}

/** One entry of `plugins:` in mirador.config.yaml. */
export type PluginEntry = PluginName | PluginRef

/** The package plugin authors import MiradorError, validatePluginOptions and the types from. */
export const PLUGIN_API_PACKAGE = '@mirador/plugin-api'

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

/** A `plugins:` entry of a config file, with where it was written (for its errors). */
export interface ConfiguredPlugin {
  entry: PluginEntry
  /** the config file's folder: paths in the entry are relative to it */
  baseDir: string
  /** more node_modules folders where a package name is looked up (the user's installed plugins) */
  nodeModules?: readonly string[]
  /** the entry's `file:line:column`, worked out only when there is an error to show */
  at?: () => SourceLocation
  /** listed by a project's config rather than the user's: its code runs only once approved */
  project?: boolean
}

/** How configured plugins are loaded (the CLI decides; see src/cli/setup.ts). */
export interface PluginLoading {
  /** false: only their manifests are read, no code of theirs runs (commands that run no chain) */
  code?: boolean
  /** runs a plugin not marked `trusted: true` out of process */
  sandbox?: SandboxFactory
  /** called before any code of a plugin runs; throws (PLUGIN_UNAPPROVED) to keep it from running */
  approve?: (plugin: ConfiguredPlugin, loaded: LoadedPluginManifest) => Promise<void>
}

export function isOptional(entry: PluginEntry): boolean {
  return typeof entry === 'object' && entry.optional === true
}

/**
 * One configured plugin, ready to apply: its manifest read, then (when code may run and the plugin
 * is approved) imported and held to its manifest when trusted, else handed to the sandbox. Throws
 * MiradorError (PLUGIN_*) on failure.
 */
export async function loadPlugin(
  plugin: ConfiguredPlugin,
  { home, code = true, sandbox, approve }: PluginLoading & { home: string },
): Promise<MiradorPlugin> {
  const { entry, baseDir } = plugin
  const spec = typeof entry === 'string' ? entry : entry.name
  const options = typeof entry === 'string' ? undefined : entry.options
  const file = resolvePluginEntry(spec, baseDir, plugin.nodeModules)
  const loaded = await readPluginManifest(file)
  const { manifest } = loaded
  if (!code) return declaredOnly(loaded.name, manifest.apiVersion, manifest)
  await approve?.(plugin, loaded)
  if (typeof entry === 'string' || entry.trusted !== true) {
    return sandboxedPlugin({ name: loaded.name, entryFile: file, dir: loaded.dir, manifest, options, home }, sandbox)
  }
  return scopedPlugin(await importPlugin(file, spec, options), manifest)
}

/** Imports a plugin's module in Mirador's process and instantiates what it exports. */
async function importPlugin(file: string, spec: string, options: unknown): Promise<MiradorPlugin> {
  let mod: Record<string, unknown>
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>
  } catch (err) {
    throw new MiradorError('PLUGIN_LOAD', `plugin ${spec} failed to load: ${importProblem(err, file)}`, {
      cause: err,
      details: { plugin: spec },
    })
  }
  return instantiate(mod.default ?? mod, options, spec)
}

/** Why a plugin's module did not import, with what to do for the mistakes a first plugin makes. */
function importProblem(err: unknown, file: string): string {
  const message = err instanceof Error ? err.message : String(err)
  const code = (err as { code?: unknown } | null)?.code
  if (code === 'ERR_MODULE_NOT_FOUND' && message.includes(`'${PLUGIN_API_PACKAGE}'`)) {
    return (
      `${message}. Plugins import ${PLUGIN_API_PACKAGE} from their own node_modules: ` +
      `run \`npm install ${path.join(PACKAGE_ROOT, 'packages', 'plugin-api')}\` ` +
      "in the plugin's folder or one above it"
    )
  }
  // Node before 20.19 reads a .js file outside a "type": "module" package as CommonJS
  if (err instanceof SyntaxError && /\bimport statement outside a module\b/.test(message)) {
    return (
      `${message}: ${file} is read as CommonJS. Name it .mjs, or add "type": "module" to the ` +
      'package.json nearest to it (`npm pkg set type=module`)'
    )
  }
  return message
}

/** Errors of one `plugins:` entry, placed at it and marked with what they mean for runs (see stopsRuns). */
export function configuredError(err: MiradorError, plugin: ConfiguredPlugin): MiradorError {
  const location = err.location ?? plugin.at?.()
  const optional = isOptional(plugin.entry)
  return new MiradorError(
    err.code,
    optional ? `${sentence(err.message)} It is optional: runs go on without it.` : err.message,
    {
      cause: err.cause,
      ...(location ? { location } : {}),
      details: {
        plugin: typeof plugin.entry === 'string' ? plugin.entry : plugin.entry.name,
        ...err.details,
        required: !optional,
      },
    },
  )
}

/** A plugin the config lists without `optional: true` failed: no run may go on without it. */
export function stopsRuns(err: MiradorError): boolean {
  return err.details?.required === true
}

/** A plugin the config lists with `optional: true` failed: runs go on without it. */
export function optionalFailure(err: MiradorError): boolean {
  return err.details?.required === false
}

/** A run's error when plugins the config requires failed (each is reported before it, with its cause). */
export function requiredPluginsFailed(errors: readonly MiradorError[]): MiradorError {
  const names = errors.map((e) => String(e.details?.plugin ?? 'plugin')).join(', ')
  const one = errors.length === 1
  return new MiradorError(
    errors[0]?.code ?? 'PLUGIN_LOAD',
    `the run stopped before any stage: ${one ? 'plugin' : 'plugins'} ${names} of plugins: in the config ` +
      `failed (above). Fix ${one ? 'it' : 'them'}, or mark ${one ? 'its entry' : 'their entries'} ` +
      `\`optional: true\` to run without ${one ? 'it' : 'them'}.`,
    { details: { plugins: errors.map((e) => e.details?.plugin) } },
  )
}
