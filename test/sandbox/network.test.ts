/**
 * The network barrier: a sandboxed plugin tries every way it knows to reach listeners the test owns
 * (TCP, UDP, a Unix socket), with its own network namespace and with the JS barrier alone; none is
 * reached. A host it declared is reached through fetch, which Mirador performs; another is refused.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals'
import dgram from 'node:dgram'
import { mkdtempSync } from 'node:fs'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { networkBarrier } from '../../src/sandbox/index.js'
import { startOllamaTestServer, type OllamaTestServer } from '../support/ollama-server.js'
import { probeSpec, sandboxed, setupEngine, type Setup } from './support.js'

let server: OllamaTestServer
let s: Setup | undefined
const reached: string[] = []
let tcp: net.Server
let unix: net.Server
let udp: dgram.Socket
let web: http.Server
let socketPath: string

const listen = (srv: net.Server, ...args: unknown[]) =>
  new Promise<void>((resolve) => (srv.listen as (...a: unknown[]) => void)(...args, () => resolve()))
const portOf = (srv: net.Server) => (srv.address() as net.AddressInfo).port

beforeAll(async () => {
  server = await startOllamaTestServer()
  tcp = net.createServer((c) => {
    reached.push('tcp')
    c.destroy()
  })
  await listen(tcp, 0, '127.0.0.1')
  socketPath = path.join(mkdtempSync(path.join(os.tmpdir(), 'mirador-sock-')), 'beacon.sock')
  unix = net.createServer((c) => {
    reached.push('unix')
    c.destroy()
  })
  await listen(unix, socketPath)
  udp = dgram.createSocket('udp4')
  udp.on('message', () => void reached.push('udp'))
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()))
  web = http.createServer((req, res) => {
    reached.push(`web ${req.url}`)
    res.end('hello from a declared host')
  })
  await listen(web, 0, '127.0.0.1')
})

afterAll(async () => {
  await server.close()
  for (const srv of [tcp, unix, web]) await new Promise((r) => srv.close(r))
  udp.close()
})

afterEach(async () => {
  await s?.close()
  s = undefined
})

function netSpec(home: string, namespace: boolean) {
  const spec = probeSpec(
    home,
    {
      mode: 'net',
      port: portOf(tcp),
      udpPort: udp.address().port,
      socketPath,
      declaredUrl: `http://127.0.0.1:${portOf(web)}/declared`,
      undeclaredUrl: `http://127.0.0.1:${portOf(tcp)}/undeclared`,
    },
    { namespace, deadlineMs: 20000 },
  )
  return {
    ...spec,
    manifest: { ...spec.manifest, permissions: { network: [`127.0.0.1:${portOf(web)}`] } },
  }
}

describe('the network barrier', () => {
  it('is a network namespace here, with the JS barrier', async () => {
    expect(await networkBarrier()).toBe('namespace')
  })

  for (const namespace of [true, false]) {
    const how = namespace ? 'in its namespace' : 'with the JS barrier alone'
    it(`closes every socket ${how}; fetch reaches declared hosts`, async () => {
      reached.length = 0
      s = setupEngine(server)
      const refused: string[] = []
      const plugin = sandboxed(s, netSpec(s.home, namespace))
      plugin.observe({ access: (m) => void (m.kind === 'network' && refused.push(m.detail)) })
      expect((await s.run()).ok).toBe(true)
      const attempts = s.events.find((e) => e.type === 'probe')!.found.net as Record<string, unknown>
      const { 'declared fetch': declared, ...others } = attempts
      expect(declared).toBe('hello from a declared host')
      for (const [how, what] of Object.entries(others)) {
        expect([how, String(what)]).toEqual([how, expect.stringMatching(/^refused /)])
      }
      expect(Object.keys(others)).toHaveLength(15)
      // nothing reached the listeners but the declared fetch, made by Mirador
      await new Promise((r) => setTimeout(r, 100))
      // (one probe per stage: two)
      expect(reached).toEqual(['web /declared', 'web /declared'])
      expect(refused.length).toBeGreaterThanOrEqual(12)
      expect(refused.some((d) => d.includes('may not reach http://127.0.0.1'))).toBe(true)
    })
  }
})
