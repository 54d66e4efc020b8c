/**
 * A plugin a project's mirador.config.yaml names runs only once the user has approved it: running
 * Mirador inside a cloned repository must not run that repository's code. An approval is the
 * plugin's real folder and its content hash (src/lib/package-hash.ts) in
 * $MIRADOR_HOME/plugins/approved.json, nothing else; a plugin whose files changed since is asked
 * about again. In a terminal the command asks (y/N); otherwise it stops with PLUGIN_UNAPPROVED
 * naming `mirador plugins approve PATH`. Plugins the user's own config names need no approval.
 */
import { realpath } from 'node:fs/promises'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import type { LoadedPluginManifest } from '../engine/plugin-manifest.js'
import type { ConfiguredPlugin, PluginLoading } from '../engine/plugins.js'
import { hashPackage } from '../lib/package-hash.js'
import { readApprovals, recordApprovals, type ApprovalsFileSpec } from './approvals-file.js'
import { askYesNo, type PromptStreams } from './ask.js'

export function approvalsFile(home: string): string {
  return path.join(home, 'plugins', 'approved.json')
}

const HASH = /^sha256:[0-9a-f]{64}$/

/** `{ "version": 1, "approved": { "/real/folder": "sha256:…" } }` */
const approvals = (home: string): ApprovalsFileSpec => ({
  file: approvalsFile(home),
  redo: 'approve your project plugins again (mirador plugins approve PATH)',
  valid: (k, v) => path.isAbsolute(k) && HASH.test(v),
})

export interface Approval {
  /** the plugin's real folder: what approvals are keyed by */
  dir: string
  hash: string
  /** approved: as approved; new: never approved; changed: approved with other content */
  state: 'approved' | 'new' | 'changed'
}

/** The plugin's content hash; Mirador's own folder is left out when the plugin's package holds it. */
async function contentHash(home: string, real: string) {
  return hashPackage(real, [await realpath(home).catch(() => path.resolve(home))])
}

/** Whether the plugin in `dir` is approved as it is now. */
export async function approvalOf(home: string, dir: string): Promise<Approval> {
  const real = await realpath(dir)
  const [{ hash }, approved] = await Promise.all([contentHash(home, real), readApprovals(approvals(home))])
  const was = approved[real]
  return { dir: real, hash, state: was === hash ? 'approved' : was === undefined ? 'new' : 'changed' }
}

/** Records the plugin in `dir`, as it is now, as approved. */
export async function approve(home: string, dir: string): Promise<Approval & { files: number }> {
  const real = await realpath(dir)
  const { hash, files } = await contentHash(home, real)
  await recordApprovals(approvals(home), (approved) => {
    approved[real] = hash
  })
  return { dir: real, hash, state: 'approved', files: Object.keys(files).length }
}

/** A path as a shell takes it. */
function shellWord(p: string): string {
  return /^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replace(/'/g, "'\\''")}'`
}

/** What a plugin declares, in a line or two, for the user deciding whether to run it (and how, when given). */
export function describeManifest(loaded: LoadedPluginManifest, trusted?: boolean): string {
  const { hooks, capabilities, provides, permissions } = loaded.manifest
  const reach = [
    permissions.fs?.read?.length ? `reads ${permissions.fs.read.join(', ')}` : '',
    permissions.fs?.write?.length ? `writes ${permissions.fs.write.join(', ')}` : '',
    permissions.network?.length ? `connects to ${permissions.network.join(', ')}` : '',
    permissions.env?.length ? `reads the variables ${permissions.env.join(', ')}` : '',
    permissions.childProcess ? 'starts programs' : '',
  ].filter(Boolean)
  return [
    `hooks: ${hooks.join(', ') || 'none'}`,
    ...(capabilities?.length ? [`calls: ${capabilities.join(', ')}`] : []),
    ...(provides?.length ? [`provides: ${provides.join(', ')}`] : []),
    `permissions: ${reach.join('; ') || 'none'}`,
    ...(trusted === undefined
      ? []
      : [trusted ? "trusted: true (runs in Mirador's process, with all your rights)" : 'runs in a sandbox']),
  ].join('; ')
}

/**
 * The check run before a project plugin's code runs (PluginLoading.approve): an approved plugin
 * passes; otherwise, when both `streams` are terminals, the user is asked, else PLUGIN_UNAPPROVED.
 */
export function approvalGate(
  home: string,
  streams: PromptStreams = { input: process.stdin, output: process.stderr },
): NonNullable<PluginLoading['approve']> {
  return async (plugin: ConfiguredPlugin, loaded: LoadedPluginManifest) => {
    if (!plugin.project) return
    const a = await approvalOf(home, loaded.dir)
    if (a.state === 'approved') return
    const trusted = typeof plugin.entry === 'object' && plugin.entry.trusted === true
    const why = a.state === 'changed' ? 'has changed since you approved it' : 'is not approved yet'
    const command = `mirador plugins approve ${shellWord(a.dir)}`
    if (streams.input.isTTY && streams.output.isTTY) {
      streams.output.write(
        `The project's config names the plugin ${loaded.name} ${loaded.version} (${a.dir}), which ${why}.\n` +
          `  ${describeManifest(loaded, trusted)}\n`,
      )
      if (await askYesNo('Run it? Approve only code you have read. [y/N] ', streams)) {
        await approve(home, a.dir)
        return
      }
    }
    throw new MiradorError(
      'PLUGIN_UNAPPROVED',
      `plugin ${loaded.name} (${a.dir}) is named by the project's config and ${why}: Mirador runs no ` +
        `project plugin's code until you approve it. Read it, then run \`${command}\``,
      { details: { plugin: loaded.name, dir: a.dir, state: a.state } },
    )
  }
}
