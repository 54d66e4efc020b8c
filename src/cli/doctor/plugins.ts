/**
 * `mirador doctor`'s view of third-party plugins without running any of their code or starting a
 * host: how the config's entries would run (in process when `trusted: true`, else sandboxed; a
 * project's plugin not approved yet not at all), and which network barrier a sandbox gets here.
 */
import { readPluginManifest } from '../../engine/plugin-manifest.js'
import { resolvePluginEntry } from '../../engine/plugin-resolve.js'
import type { ConfiguredPlugin } from '../../engine/plugins.js'
import { networkBarrier, type NetworkBarrier } from '../../sandbox/index.js'
import { approvalOf } from '../plugin-approval.js'

export interface ThirdPartyReport {
  /** entries whose manifest could be read (the others are among doctor's failed plugins) */
  configured: number
  /** `trusted: true`: in Mirador's process */
  trusted: number
  /** in a sandboxed process of their own */
  sandboxed: number
  /** a project's plugins not approved (or changed since): runs stop until `mirador plugins approve` */
  unapproved: number
  /** the unapproved plugins' folders, for the command that approves them */
  unapprovedDirs: string[]
  network: { barrier: NetworkBarrier; detail: string }
}

const BARRIER: Record<NetworkBarrier, string> = {
  namespace:
    'sandboxed plugins run in a network namespace of their own, and a JS barrier closes Node’s sockets; ' +
    'only the hosts they declare are reached, through Mirador',
  'js-only':
    'no network namespace here (unshare unavailable or refused): the JS barrier alone closes Node’s sockets, ' +
    'which a plugin reaching Node’s internals could get past',
}

/** How one entry would run, read from its manifest and the approvals file; undefined when unreadable. */
async function howItRuns(plugin: ConfiguredPlugin, home: string): Promise<{ kind: string; dir: string } | undefined> {
  const { entry } = plugin
  try {
    const file = resolvePluginEntry(typeof entry === 'string' ? entry : entry.name, plugin.baseDir, plugin.nodeModules)
    const { dir } = await readPluginManifest(file)
    if (plugin.project && (await approvalOf(home, dir)).state !== 'approved') return { kind: 'unapproved', dir }
    return { kind: typeof entry === 'object' && entry.trusted === true ? 'trusted' : 'sandboxed', dir }
  } catch {
    return undefined
  }
}

export async function checkThirdParty(plugins: readonly ConfiguredPlugin[], home: string): Promise<ThirdPartyReport> {
  const [barrier, runs] = await Promise.all([networkBarrier(), Promise.all(plugins.map((p) => howItRuns(p, home)))])
  const count = (kind: string) => runs.filter((r) => r?.kind === kind).length
  return {
    configured: runs.filter(Boolean).length,
    trusted: count('trusted'),
    sandboxed: count('sandboxed'),
    unapproved: count('unapproved'),
    unapprovedDirs: runs.flatMap((r) => (r?.kind === 'unapproved' ? [r.dir] : [])),
    network: { barrier, detail: BARRIER[barrier] },
  }
}
