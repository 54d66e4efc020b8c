/**
 * Holds a third-party plugin to its manifest: the host it is handed lets it tap only the hooks it
 * declares, call only the capabilities it declares and offer only those it says it provides. What
 * it declares as data (template variables, stage keys) Mirador registers itself, before its code
 * runs, so commands that run no chain know them without loading the plugin.
 */
import type { PluginManifest } from './config/types.gen.js'
import { MiradorError } from './errors.js'
import type { PluginHost } from './engine.js'
import type { HookName, Hooks } from './hooks.js'
import type { MiradorPlugin } from './plugins.js'

type Declared = Pick<PluginManifest, 'hooks' | 'capabilities' | 'provides' | 'templateVars' | 'stageKeys'>

/** What a hook offers that adds code to it: refused on a hook the plugin does not declare. */
const TAPPING = new Set<PropertyKey>(['tap', 'tapAsync', 'tapPromise', 'intercept'])

export function undeclared(plugin: string, what: string, field: string, name: string): MiradorError {
  return new MiradorError(
    'PLUGIN_UNDECLARED',
    `plugin ${plugin} ${what} "${name}", which its package.json does not declare: ` +
      `add it to mirador.${field} if the plugin is meant to (docs/plugins.md, Manifest)`,
    { details: { plugin, [field === 'hooks' ? 'hook' : 'capability']: name } },
  )
}

/** The hook as it is, or one whose tapping throws PLUGIN_UNDECLARED. */
function scopedHook<H extends object>(hook: H, allowed: boolean, plugin: string, name: string): H {
  if (allowed) return hook
  return new Proxy(hook, {
    get(target, prop, receiver) {
      if (TAPPING.has(prop)) {
        return () => {
          throw undeclared(plugin, 'taps the hook', 'hooks', name)
        }
      }
      return Reflect.get(target, prop, receiver) as unknown
    },
  })
}

/** Registers what the manifest declares as data: its template variables and stage keys. */
export function registerDeclared(host: PluginHost, manifest: Declared): void {
  if (manifest.templateVars?.length) host.registerTemplateVars(manifest.templateVars)
  if (manifest.stageKeys && Object.keys(manifest.stageKeys).length > 0) host.registerStageKeys(manifest.stageKeys)
}

/** The host a third-party plugin is handed: the engine's, held to what `manifest` declares. */
export function scopeHost(host: PluginHost, plugin: string, manifest: Declared): PluginHost {
  const hooksDeclared = new Set<string>(manifest.hooks)
  const calls = new Set(manifest.capabilities ?? [])
  const provides = new Set(manifest.provides ?? [])
  const vars = new Set(manifest.templateVars ?? [])
  const keys = new Set(Object.keys(manifest.stageKeys ?? {}))
  const hooks = {} as Record<HookName, Hooks[HookName]>
  for (const name of Object.keys(host.hooks) as HookName[])
    hooks[name] = scopedHook(host.hooks[name], hooksDeclared.has(name), plugin, name)
  return {
    apiVersion: host.apiVersion,
    hooks: Object.freeze(hooks) as Hooks,
    settings: host.settings,
    // declared keys and variables are registered by Mirador already (registerDeclared): saying so again is fine
    registerStageKeys(properties) {
      const extra = Object.keys(properties).find((k) => !keys.has(k))
      if (extra !== undefined) throw undeclared(plugin, 'registers the stage key', 'stageKeys', extra)
    },
    stageKeys: () => host.stageKeys(),
    registerTemplateVars(names) {
      const extra = names.find((n) => !vars.has(n))
      if (extra !== undefined) throw undeclared(plugin, 'registers the template variable', 'templateVars', extra)
    },
    templateVars: () => host.templateVars(),
    registerRuntime: (name, factory, registration) => host.registerRuntime(name, factory, registration),
    runtime: (name, overrides) => host.runtime(name, overrides),
    hasRuntime: (name) => host.hasRuntime(name),
    registerCapability(name, fn) {
      if (!provides.has(name)) throw undeclared(plugin, 'offers the capability', 'provides', name)
      host.registerCapability(name, fn)
    },
    capability(name) {
      if (!calls.has(name)) throw undeclared(plugin, 'calls the capability', 'capabilities', name)
      return host.capability(name)
    },
    chains: () => host.chains(),
  }
}

/**
 * A plugin run in process, held to its manifest: applying it registers what the manifest declares,
 * then hands the plugin's own `apply` the scoped host.
 */
export function scopedPlugin(plugin: MiradorPlugin, manifest: Declared): MiradorPlugin {
  return {
    name: plugin.name,
    apiVersion: plugin.apiVersion,
    apply(engine) {
      registerDeclared(engine, manifest)
      plugin.apply(scopeHost(engine, plugin.name, manifest))
    },
  }
}

/** A plugin's declarations only, its code not loaded: for commands that run no chain. */
export function declaredOnly(name: string, apiVersion: number, manifest: Declared): MiradorPlugin {
  return { name, apiVersion, apply: (engine) => registerDeclared(engine, manifest) }
}
