/**
 * Inside the host, before the plugin's code loads: closes every way Node offers to open a socket
 * (net, tls, http(s), http2, dgram, dns, Unix-socket pipes, WebSocket) and replaces `fetch` with
 * one that asks Mirador, which checks the host against the plugin's declared `permissions.network`.
 * Node's permission model does not cover the network; where the system allows it the host also
 * runs in a network namespace of its own (network.ts), so this is the second wall, not the only one.
 */
import dgram from 'node:dgram'
import dns from 'node:dns'
import http from 'node:http'
import http2 from 'node:http2'
import https from 'node:https'
import { syncBuiltinESMExports } from 'node:module'
import net from 'node:net'
import tls from 'node:tls'
import workerThreads from 'node:worker_threads'

export type Report = (kind: 'network' | 'worker', detail: string) => void

function refusal(kind: 'network' | 'worker', what: string, report: Report) {
  return function refused(): never {
    report(kind, what)
    const hint =
      kind === 'network'
        ? 'declare the host in permissions.network of its package.json and use fetch'
        : 'a sandboxed plugin cannot start worker threads'
    throw Object.assign(new Error(`${what} is closed in Mirador's plugin sandbox: ${hint}`), {
      code: 'ERR_ACCESS_DENIED',
    })
  }
}

function close(target: object | undefined, keys: string[], kind: 'network' | 'worker', label: string, report: Report) {
  if (!target) return
  for (const key of keys) {
    Object.defineProperty(target, key, {
      value: refusal(kind, `${label}.${key}`, report),
      writable: false,
      configurable: false,
    })
  }
}

/** The prototype of a handle class Node keeps internal (Pipe), reached through an instance. */
function handleProto(stream: unknown): object | undefined {
  const handle = (stream as { _handle?: object } | null)?._handle
  return handle ? (Object.getPrototypeOf(handle) as object) : undefined
}

export function closeNetwork(report: Report, sandboxFetch: typeof fetch): void {
  close(net.Socket.prototype, ['connect'], 'network', 'net.Socket', report)
  close(net.Server.prototype, ['listen'], 'network', 'net.Server', report)
  close(net, ['connect', 'createConnection', '_createServerHandle'], 'network', 'net', report)
  close(tls, ['connect'], 'network', 'tls', report)
  for (const [mod, label] of [
    [http, 'http'],
    [https, 'https'],
  ] as const) {
    close(mod, ['request', 'get'], 'network', label, report)
    close(mod.Agent.prototype, ['createConnection'], 'network', `${label}.Agent`, report)
  }
  close(http2, ['connect'], 'network', 'http2', report)
  // the raw UDP handle a dgram.Socket carries from birth: its class's methods closed too
  const probe = dgram.createSocket('udp4')
  const udp = handleProto(probe)
  probe.close()
  close(udp, ['bind', 'bind6', 'connect', 'connect6', 'send', 'send6', 'open', 'recvStart'], 'network', 'udp', report)
  close(dgram, ['createSocket'], 'network', 'dgram', report)
  close(dgram.Socket.prototype, ['send', 'bind', 'connect'], 'network', 'dgram.Socket', report)
  const lookups = ['lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCname']
  const more = [
    'resolveMx',
    'resolveNs',
    'resolvePtr',
    'resolveSrv',
    'resolveTxt',
    'resolveNaptr',
    'resolveSoa',
    'reverse',
  ]
  close(dns, [...lookups, ...more], 'network', 'dns', report)
  close(dns.promises, [...lookups, ...more], 'network', 'dns.promises', report)
  close(dns.Resolver.prototype, [...lookups.slice(2), ...more], 'network', 'dns.Resolver', report)
  close(dns.promises.Resolver.prototype, [...lookups.slice(2), ...more], 'network', 'dns.Resolver', report)
  // Unix sockets: the pipe class behind the standard streams and the IPC channel is reachable from them
  for (const proto of [handleProto(process.stdin), handleProto(process.stdout), handleProto(process.stderr)]) {
    if (proto && typeof (proto as { connect?: unknown }).connect === 'function') {
      close(proto, ['connect', 'bind', 'listen', 'open'], 'network', 'pipe', report)
    }
  }
  const channelProto = process.channel ? (Object.getPrototypeOf(process.channel) as object) : undefined
  if (channelProto && 'connect' in channelProto)
    close(channelProto, ['connect', 'bind', 'listen'], 'network', 'pipe', report)
  Object.defineProperty(globalThis, 'fetch', { value: sandboxFetch, writable: false, configurable: false })
  for (const name of ['WebSocket', 'EventSource']) delete (globalThis as Record<string, unknown>)[name]
  syncBuiltinESMExports()
}

/** After the host's own loader thread started: no plugin may start another. */
export function closeWorkers(report: Report): void {
  close(workerThreads, ['Worker'], 'worker', 'worker_threads', report)
  syncBuiltinESMExports()
}
