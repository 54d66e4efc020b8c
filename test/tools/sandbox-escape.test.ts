/**
 * The sandbox's escape and abuse suite: every payload of test/fixtures/tools/escape/*.mjs runs as a
 * tool (see the README there for the header format). For each one: no canary file was written (the
 * payload writes it only if it ever obtains a host power), this process stayed responsive (event
 * loop lag), the result is the declared one, and the next call on the same pool works.
 *
 * One worker (size 1), so every payload runs in the same worker process as the ones before it,
 * unless an earlier payload got that worker replaced.
 */
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  createSandboxPool,
  type Capabilities,
  type SandboxErrorCode,
  type SandboxPoolHandle,
} from '../../src/plugins/tools/sandbox/index.js'

jest.setTimeout(30_000)

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/tools/escape')
const DEFAULT_LIMITS = { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 64 * 1024 }

interface Payload {
  file: string
  source: string
  expect: 'ok' | SandboxErrorCode
  value?: unknown
  error?: string
  limits: typeof DEFAULT_LIMITS
  capabilities: string[]
}

function loadPayload(file: string): Payload {
  const source = readFileSync(path.join(FIXTURES, file), 'utf8')
  const header = new Map<string, string>()
  for (const line of source.split('\n')) {
    const m = /^\/\/ (expect|value|error|limits|capabilities): (.*)$/.exec(line)
    if (m) header.set(m[1] as string, (m[2] as string).trim())
  }
  const expected = header.get('expect')
  if (!expected) throw new Error(`${file}: no "// expect:" header`)
  return {
    file,
    source,
    expect: expected as Payload['expect'],
    value: header.has('value') ? JSON.parse(header.get('value') as string) : undefined,
    error: header.get('error'),
    limits: {
      ...DEFAULT_LIMITS,
      ...(header.has('limits') ? (JSON.parse(header.get('limits') as string) as object) : {}),
    },
    capabilities:
      header
        .get('capabilities')
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) ?? [],
  }
}

const files = readdirSync(FIXTURES)
  .filter((f) => f.endsWith('.mjs'))
  .sort()
// the pair must run in this order, one after the other
const ORDERED = ['cross-call-state-set.mjs', 'cross-call-state-get.mjs']
const payloads = [...files.filter((f) => !ORDERED.includes(f)), ...ORDERED].map(loadPayload)

let dir: string
let pool: SandboxPoolHandle
const hostCalls: Array<{ name: string; args: unknown }> = []
const seenPids = new Set<number>()

/** The host a payload gets: memory.search (a stand-in) and a dangerous function never granted. */
function hostFor(): Capabilities {
  return {
    'memory.search': async (args) => {
      hostCalls.push({ name: 'memory.search', args })
      if ((args as { fail?: boolean } | null)?.fail) throw new Error('search failed')
      return { hits: [{ id: 'm1', text: 'remembered', score: 0.9 }], query: args }
    },
    'fs.writeFile': async (args) => {
      hostCalls.push({ name: 'fs.writeFile', args })
      writeFileSync((args as { path: string }).path, 'escaped through an ungranted capability')
      return 'written'
    },
  }
}

/** Runs `fn` while measuring the longest gap between 5 ms ticks of this process's event loop. */
async function withLag<T>(fn: () => Promise<T>): Promise<{ result: T; lagMs: number }> {
  let last = performance.now()
  let worst = 0
  const tick = setInterval(() => {
    const now = performance.now()
    worst = Math.max(worst, now - last)
    last = now
  }, 5)
  try {
    const result = await fn()
    return { result, lagMs: Math.max(worst, performance.now() - last) }
  } finally {
    clearInterval(tick)
  }
}

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-escape-'))
  pool = createSandboxPool({ size: 1 })
})

afterAll(async () => {
  await pool.close()
  expect(pool.pids()).toEqual([])
  // every worker process this suite saw is gone
  for (const pid of seenPids) expect(() => process.kill(pid, 0)).toThrow()
  expect(hostCalls.filter((c) => c.name === 'fs.writeFile')).toEqual([])
  expect(readdirSync(dir)).toEqual([])
  rmSync(dir, { recursive: true, force: true })
})

test('the suite has at least 30 payloads', () => {
  expect(payloads.length).toBeGreaterThanOrEqual(30)
})

describe.each(payloads.map((p) => [p.file, p] as const))('%s', (_file, p) => {
  test(`ends with ${p.expect}, escapes nothing, and the next call works`, async () => {
    const canary = path.join(dir, `${p.file}.canary`)
    const { result, lagMs } = await withLag(() =>
      pool.run(
        {
          source: p.source,
          filename: path.join(FIXTURES, p.file),
          args: { canary },
          limits: p.limits,
          capabilities: p.capabilities,
        },
        hostFor(),
      ),
    )
    for (const pid of pool.pids()) seenPids.add(pid)

    expect(existsSync(canary)).toBe(false)
    // this process was never blocked by the payload (generous: the machine may be busy)
    expect(lagMs).toBeLessThan(750)

    if (p.expect === 'ok') {
      expect(result).toMatchObject({ ok: true })
      if (p.value !== undefined) expect((result as { value: unknown }).value).toEqual(p.value)
    } else {
      expect(result).toMatchObject({ ok: false, code: p.expect })
      if (p.error) expect((result as { error: string }).error.toLowerCase()).toContain(p.error.toLowerCase())
      // short messages, never a host stack
      expect((result as { error: string }).error.length).toBeLessThanOrEqual(501)
      expect((result as { error: string }).error).not.toMatch(/node:internal|\/node_modules\/|isolated-vm\.js/)
    }
    expect(result.ms).toBeGreaterThanOrEqual(0)
    if (p.expect === 'TOOL_TIMEOUT') expect(result.ms).toBeLessThan(p.limits.timeoutMs + 2000)

    const next = await pool.run({
      source: 'export default (a) => ({ twice: a.n * 2 })',
      filename: 'next.mjs',
      args: { n: 21 },
      limits: DEFAULT_LIMITS,
      capabilities: [],
    })
    expect(next).toMatchObject({ ok: true, value: { twice: 42 } })
    for (const pid of pool.pids()) seenPids.add(pid)
    expect(pool.pids().length).toBeLessThanOrEqual(1)
  })
})
