/**
 * Where a plugin the user has not marked `trusted: true` goes: out of Mirador's process, into a
 * sandboxed host (src/sandbox). The engine never imports the sandbox; the CLI hands it a factory
 * (src/cli/setup.ts), and without one such a plugin cannot run.
 */
import { MiradorError } from './errors.js'
import type { LoadedPluginManifest } from './plugin-manifest.js'
import type { MiradorPlugin } from './plugins.js'

/** What a sandboxed host needs to run one plugin. */
export interface SandboxSpec {
  /** the plugin's package name: its taps and errors are reported under it */
  name: string
  entryFile: string
  /** the plugin's package folder */
  dir: string
  manifest: LoadedPluginManifest['manifest']
  /** its entry's `options:` from config */
  options: unknown
  /** $MIRADOR_HOME */
  home: string
  deadlineMs?: number
  memoryMb?: number
}

/** A plugin whose code runs in another process, stopped when the engine is disposed. */
export type SandboxedPlugin = MiradorPlugin & { stop(): Promise<void> }

export type SandboxFactory = (spec: SandboxSpec) => SandboxedPlugin

/** The plugin `spec` describes, run by `factory`; refused with what to do when there is none. */
export function sandboxedPlugin(spec: SandboxSpec, factory: SandboxFactory | undefined): SandboxedPlugin {
  if (factory) return factory(spec)
  throw new MiradorError(
    'PLUGIN_SANDBOX',
    `plugin ${spec.name} runs only in a sandboxed process, and no sandbox is available to this engine: ` +
      "if you trust its code, mark its entry `trusted: true` to run it in Mirador's process",
    { details: { plugin: spec.name } },
  )
}
