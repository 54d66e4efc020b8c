/**
 * A run's side of the memory service (protocol.ts): one request over the socket, one answer. Any
 * failure (no service, another version, a passphrase home, a slow answer) gives undefined, and the
 * run recalls by itself: the service only ever makes a run faster.
 */
import net from 'node:net'
import type { Ranked } from '../recall.js'
import type { Unreadable } from '../types.js'
import {
  SERVICE_VERSION,
  serviceSocket,
  type EmbedRequest,
  type RecallRequest,
  type RefreshRequest,
  type ServiceAnswer,
  type ServiceRequest,
} from './protocol.js'

let nextId = 1

/** the service's recall, with the records it skipped because they do not open with the key */
export interface ServedRecall {
  results: Ranked[]
  unreadable: Unreadable[]
}

export function recallFromService(
  home: string,
  request: Omit<RecallRequest, 'id' | 'op' | 'version'>,
  timeoutMs = 2000,
): Promise<ServedRecall | undefined> {
  const req: RecallRequest = { id: nextId++, op: 'recall', version: SERVICE_VERSION, ...request }
  return ask(home, req, timeoutMs, (a) =>
    'results' in a ? { results: a.results, unreadable: a.unreadable ?? [] } : undefined,
  )
}

export function embedFromService(
  home: string,
  request: Omit<EmbedRequest, 'id' | 'op' | 'version'>,
  timeoutMs = 10_000,
): Promise<number[][] | undefined> {
  const req: EmbedRequest = { id: nextId++, op: 'embed', version: SERVICE_VERSION, ...request }
  return ask(home, req, timeoutMs, (a) => ('vectors' in a ? a.vectors : undefined))
}

/** Tells the service this process wrote memories (protocol.ts RefreshRequest); resolves once its index has them. */
export function refreshService(
  home: string,
  request: Omit<RefreshRequest, 'id' | 'op' | 'version'>,
  timeoutMs = 2000,
): Promise<boolean | undefined> {
  const req: RefreshRequest = { id: nextId++, op: 'refresh', version: SERVICE_VERSION, ...request }
  return ask(home, req, timeoutMs, (a) => ('refreshed' in a ? a.refreshed : undefined))
}

function ask<T>(
  home: string,
  req: ServiceRequest,
  timeoutMs: number,
  pick: (answer: ServiceAnswer & { ok: true }) => T | undefined,
): Promise<T | undefined> {
  return new Promise((resolve) => {
    let settled = false
    let buffer = ''
    const conn = net.createConnection(serviceSocket(home))
    const done = (value: T | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      conn.destroy()
      resolve(value)
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    conn.on('connect', () => conn.write(JSON.stringify(req) + '\n'))
    conn.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8')
      const end = buffer.indexOf('\n')
      if (end < 0) return
      try {
        const answer = JSON.parse(buffer.slice(0, end)) as ServiceAnswer
        done(answer.id === req.id && answer.ok ? pick(answer) : undefined)
      } catch {
        done(undefined)
      }
    })
    conn.on('error', () => done(undefined))
    conn.on('close', () => done(undefined))
  })
}
