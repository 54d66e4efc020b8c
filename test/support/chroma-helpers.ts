/**
 * Helpers for the Chroma tests: a temp MIRADOR_HOME, a test Cipher (AES-256-GCM with a random
 * key; the real one lives in src/lib/crypto.ts), process checks through /proc, a child process
 * that runs ensureChromaServer (test/support/chroma-ensure-main.ts), the raw chromadb client with
 * the guard's token, and a plain `chroma run` with no guard (what a CHROMA_URL server is).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, readFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { MiradorError } from '../../src/engine/errors.js'
import { ChromaClient } from 'chromadb'
import type { ChromaServerHandle, ChromaServerRecord } from '../../src/plugins/memory/chroma/server.js'
import { chromaCli, heartbeat } from '../../src/plugins/memory/chroma/server.js'
import type { Cipher } from '../../src/plugins/memory/types.js'

export async function tempHome(tag = 'home'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `mirador-chroma-${tag}-`))
}

/** AES-256-GCM: `t1:` + base64(iv | tag | ciphertext). */
export function testCipher(key: Buffer = randomBytes(32)): Cipher & { key: Buffer } {
  return {
    key,
    seal(plaintext: string): string {
      const iv = randomBytes(12)
      const c = createCipheriv('aes-256-gcm', key, iv)
      const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()])
      return `t1:${Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64')}`
    },
    open(sealed: string): string {
      if (!sealed.startsWith('t1:')) throw new MiradorError('MEMORY_CRYPTO', 'not sealed by the test cipher')
      const raw = Buffer.from(sealed.slice(3), 'base64')
      const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12))
      d.setAuthTag(raw.subarray(12, 28))
      try {
        return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')
      } catch (err) {
        throw new MiradorError('MEMORY_CRYPTO', 'wrong key or tampered data', { cause: err })
      }
    },
  }
}

export async function readServerRecord(home: string): Promise<ChromaServerRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(home, 'memory', 'server.json'), 'utf8')) as ChromaServerRecord
  } catch {
    return undefined
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !st.slice(st.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return false
  }
}

/** pids (other than this process) whose command line mentions `text` */
export function processesMentioning(text: string): number[] {
  const out: number[] = []
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8')
      if (cmd.includes(text) && isAlive(Number(e))) out.push(Number(e))
    } catch {
      /* gone */
    }
  }
  return out
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await cond()) return true
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, stepMs))
  }
}

/** Runs ensureChromaServer in a child process (no earlier than `at`, ms since the epoch). */
export function ensureInChild(home: string, at: number, env: NodeJS.ProcessEnv = {}): Promise<ChromaServerHandle> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', './test/support/ts-loader.mjs', 'test/support/chroma-ensure-main.ts', home, String(at)],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } },
    )
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 25_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`ensure child exited ${code}: ${err}`))
      try {
        resolve(JSON.parse(out) as ChromaServerHandle)
      } catch {
        reject(new Error(`ensure child printed ${out} / ${err}`))
      }
    })
  })
}

/** Is anything listening on `port`, and on which local addresses (from /proc/net/tcp{,6})? */
export function listeners(port: number): string[] {
  const hex = port.toString(16).toUpperCase().padStart(4, '0')
  const out: string[] = []
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(f, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/)
      // local_address is "IP:PORT" in hex; state 0A is LISTEN
      if (cols[1]?.endsWith(`:${hex}`) && cols[3] === '0A') out.push(cols[1].split(':')[0]!)
    }
  }
  return out
}

/** The raw chromadb client on a server, with the guard's token when given. */
export function rawClient(url: string, token?: string): ChromaClient {
  const u = new URL(url)
  return new ChromaClient({
    host: u.hostname,
    port: Number(u.port),
    ...(token ? { headers: { 'x-chroma-token': token } } : {}),
  })
}

/** A plain `chroma run` on `dir` (no supervisor, no guard): what a server of CHROMA_URL is. */
export async function plainChromaServer(dir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const net = await import('node:net')
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
  const child: ChildProcess = spawn(
    process.execPath,
    [chromaCli(), 'run', '--path', dir, '--host', '127.0.0.1', '--port', String(port)],
    { stdio: 'ignore' },
  )
  const url = `http://127.0.0.1:${port}`
  if (!(await waitFor(async () => (await heartbeat(url, 500)).ok, 15_000, 100))) throw new Error('chroma did not start')
  return {
    url,
    stop: async () => {
      child.kill('SIGINT')
      await waitFor(() => child.exitCode !== null || child.signalCode !== null, 10_000)
    },
  }
}
