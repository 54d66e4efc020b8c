/**
 * Inside the host: the engine a sandboxed plugin is handed, held to its manifest as an in-process one
 * is (plugin-scope.ts: PLUGIN_UNDECLARED naming the plugin and the hook or capability); capabilities
 * it declared are calls to Mirador; what needs live objects (runtimes, a model) is refused with what
 * to do instead.
 */
import { HOOK_KINDS } from './hook-kinds.js'
import { HostHook, sandboxError } from './host-hooks.js'
import type { HookName } from '../engine/hooks.js'
import { undeclared as undeclaredBy } from '../engine/plugin-scope.js'
import type { HostInit } from './protocol.js'

export interface HostEngineIo {
  /** asks Mirador (capability calls, the chains); rejects with what Mirador answered */
  request(kind: 'capability' | 'chains' | 'fetch', name?: string, args?: unknown): Promise<unknown>
  /** tells Mirador about a refused attempt */
  refused(kind: 'capability' | 'hook', detail: string): void
}

export interface HostEngine {
  engine: Record<string, unknown>
  hooks: Map<HookName, HostHook>
  provided: Map<string, (args: unknown) => Promise<unknown>>
}

function needsTrust(what: string): never {
  throw sandboxError(
    `${what} is not available to a sandboxed plugin: mark it trusted: true in the config to run it in process`,
  )
}

export function hostEngine(init: HostInit, io: HostEngineIo): HostEngine {
  const hooks = new Map<HookName, HostHook>(init.hooks.map((h) => [h, new HostHook(h)]))
  const provided = new Map<string, (args: unknown) => Promise<unknown>>()
  const undeclared = (hook: string) => () => {
    io.refused('hook', hook)
    throw undeclaredBy(init.name, 'taps the hook', 'hooks', hook)
  }
  const hookObject = Object.fromEntries(
    (Object.keys(HOOK_KINDS) as HookName[]).map((name) => [
      name,
      hooks.get(name) ?? { tap: undeclared(name), tapPromise: undeclared(name), tapAsync: undeclared(name) },
    ]),
  )
  const declaredVars = new Set(init.templateVars)
  const engine: Record<string, unknown> = {
    apiVersion: 1,
    hooks: Object.freeze(hookObject),
    settings: Object.freeze(init.settings),
    registerStageKeys(properties: Record<string, object>) {
      const extra = Object.keys(properties).find((k) => !(k in init.stageKeys))
      if (extra !== undefined) throw undeclaredBy(init.name, 'registers the stage key', 'stageKeys', extra)
    },
    stageKeys: () => ({ ...init.stageKeys }),
    registerTemplateVars(names: string[]) {
      const extra = names.find((n) => !declaredVars.has(n))
      if (extra !== undefined) throw undeclaredBy(init.name, 'registers the template variable', 'templateVars', extra)
    },
    templateVars: () => new Set(declaredVars),
    registerRuntime: () => needsTrust('registering a runtime'),
    runtime: () => needsTrust('a runtime'),
    hasRuntime: () => false,
    registerCapability(name: string, fn: (args: unknown) => Promise<unknown>) {
      if (!init.provides.includes(name)) {
        io.refused('capability', `provides ${name}`)
        throw undeclaredBy(init.name, 'offers the capability', 'provides', name)
      }
      provided.set(name, fn)
    },
    capability(name: string) {
      if (!init.capabilities.includes(name)) {
        io.refused('capability', name)
        throw undeclaredBy(init.name, 'calls the capability', 'capabilities', name)
      }
      return (args: unknown) => io.request('capability', name, args)
    },
    chains: () => io.request('chains'),
  }
  return { engine: Object.freeze(engine), hooks, provided }
}
