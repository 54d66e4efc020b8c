/**
 * The network barrier's system half and Mirador's side of the proxied fetch. Node's permission model
 * does not cover the network, so a host runs in a network namespace of its own (only a loopback
 * nobody listens on) when `unshare` can make one here; it always also has the JS barrier
 * (host-barrier.ts). The only way out is `fetch`, which Mirador performs for hosts the plugin declared.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'
import type { FetchAnswer, FetchRequest } from './protocol.js'

export type NetworkBarrier = 'namespace' | 'js-only'

/** How to start a host in a namespace: the unshare program and its flags, or nothing. */
export interface Namespace {
  command: string
  flags: string[]
}

let probed: Promise<Namespace | undefined> | undefined

function findProgram(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter)) {
    const file = path.join(dir, name)
    if (dir && existsSync(file)) return file
  }
  return undefined
}

function works(command: string, flags: string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(command, [...flags, process.execPath, '-e', '0'], { timeout: 5000 }, (err) => resolve(!err))
  })
}

/** Probed once per process: `unshare -n` as root, `unshare -rn` (a user namespace) otherwise. */
export function namespace(): Promise<Namespace | undefined> {
  probed ??= (async () => {
    if (process.platform !== 'linux') return undefined
    const command = findProgram('unshare')
    if (!command) return undefined
    const tries = process.getuid?.() === 0 ? [['-n'], ['-rn']] : [['-rn']]
    for (const flags of tries) if (await works(command, flags)) return { command, flags }
    return undefined
  })()
  return probed
}

/** What closes a sandboxed plugin's network here: its own namespace and the JS barrier, or the JS barrier alone. */
export async function networkBarrier(): Promise<NetworkBarrier> {
  return (await namespace()) ? 'namespace' : 'js-only'
}

/** Splits a declared `host`, `host:port`, `[v6]:port` or `*.domain` into its name and port. */
function parseDeclared(entry: string): { host: string; port?: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry)
  if (v6) return { host: v6[1]!.toLowerCase(), ...(v6[2] ? { port: v6[2] } : {}) }
  const parts = entry.split(':')
  if (parts.length === 2) return { host: parts[0]!.toLowerCase(), port: parts[1]! }
  return { host: entry.toLowerCase() }
}

/** Whether a URL's host is one of the declared `permissions.network` entries. */
export function allowedHost(url: URL, declared: readonly string[]): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase()
  const port = url.port || (url.protocol === 'https:' ? '443' : '80')
  return declared.some((entry) => {
    const d = parseDeclared(entry)
    if (d.port && d.port !== port) return false
    return d.host.startsWith('*.') ? host.endsWith(d.host.slice(1)) : host === d.host
  })
}

/** The largest answer a proxied fetch hands a plugin. */
const MAX_BODY = 16 * 1024 * 1024

/** Mirador's half of a sandboxed plugin's fetch: only declared hosts, no redirect followed elsewhere. */
export async function proxiedFetch(
  plugin: string,
  req: FetchRequest,
  declared: readonly string[],
  signal: AbortSignal,
): Promise<FetchAnswer> {
  const url = new URL(req.url)
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !allowedHost(url, declared)) {
    throw new MiradorError(
      'PLUGIN_SANDBOX',
      `plugin ${plugin} may not reach ${url.protocol}//${url.host}: only http(s) to hosts in its ` +
        'permissions.network',
      { details: { plugin, host: url.host } },
    )
  }
  const res = await fetch(url, {
    method: req.method,
    headers: req.headers,
    ...(req.body && req.method !== 'GET' && req.method !== 'HEAD' ? { body: req.body } : {}),
    redirect: 'manual',
    signal,
  })
  const body = new Uint8Array(await res.arrayBuffer())
  if (body.byteLength > MAX_BODY) {
    throw new MiradorError('PLUGIN_SANDBOX', `plugin ${plugin}: the answer from ${url.host} is over 16 MB`, {
      details: { plugin },
    })
  }
  return { status: res.status, statusText: res.statusText, headers: [...res.headers], body }
}
