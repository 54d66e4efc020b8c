/**
 * Process start → first token: `chain run` (memory on, a warm $MIRADOR_HOME: the memory server
 * already running, config and schemas already seen) against a plain Node script that uses the
 * ollama client, both against the same test server answering at once. Also the ack's time, and
 * where the run's own events put the time (t of plan, stage-start, first token), for the record.
 */
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { median } from './lib.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const BIN = path.join(ROOT, 'bin', 'run.js')

/** ms from spawn until a stdout line matches `first` (and the whole output once it exits). */
export function timeToLine(
  cmd: string,
  args: string[],
  first: (line: string) => boolean,
  opts: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ ms: number; stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    let ms = -1
    let stdout = ''
    let pending = ''
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'inherit'] })
    child.stdout.on('data', (d: Buffer) => {
      const now = performance.now()
      const text = d.toString()
      stdout += text
      if (ms >= 0) return
      pending += text
      const lines = pending.split('\n')
      pending = lines.pop()!
      if (lines.some(first)) ms = now - t0
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ ms, stdout, code }))
  })
}

export interface FirstTokenResult {
  /** medians, ms */
  mirador: number
  raw: number
  ack: number
  /** the run's own event times (t since the process began), medians */
  phases: Record<string, number>
  runs: number
  spread: { mirador: [number, number]; raw: [number, number] }
}

const RAW = `
import { Ollama } from 'ollama'
const c = new Ollama({ host: process.env.OLLAMA_HOST })
const s = await c.chat({ model: 'quick:1b', messages: [{ role: 'user', content: 'hi' }], stream: true })
for await (const part of s) if (part.message?.content) { process.stdout.write('TOKEN\\n'); break }
process.exit(0)`

export async function benchFirstToken(opts: {
  dir: string
  env: NodeJS.ProcessEnv
  chain: string
  runs: number
}): Promise<FirstTokenResult> {
  const mirador: number[] = []
  const raw: number[] = []
  const ack: number[] = []
  const phases: Record<string, number[]> = { ack: [], plan: [], 'stage-start': [], token: [] }
  const isToken = (l: string) => l.includes('"type":"token"')
  // the first runs warm the home (memory server, caches); they are not counted
  for (let i = 0; i < opts.runs + 2; i++) {
    const m = await timeToLine(process.execPath, [BIN, 'chain', 'run', opts.chain, 'hi', '--json'], isToken, {
      cwd: opts.dir,
      env: opts.env,
    })
    const r = await timeToLine(process.execPath, ['--input-type=module', '-e', RAW], (l) => l === 'TOKEN', {
      cwd: ROOT,
      env: opts.env,
    })
    if (m.code !== 0) throw new Error(`chain run ${opts.chain} failed (exit ${m.code}): ${m.stdout.slice(0, 3000)}`)
    if (i < 2) continue
    mirador.push(m.ms)
    raw.push(r.ms)
    const events = m.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; t: number })
    for (const type of Object.keys(phases)) {
      const e = events.find((x) => x.type === type)
      if (e) phases[type]!.push(e.t)
    }
    ack.push(events[0]!.t)
  }
  const range = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)]
  return {
    mirador: median(mirador),
    raw: median(raw),
    ack: median(ack),
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, median(v)])),
    runs: opts.runs,
    spread: { mirador: range(mirador), raw: range(raw) },
  }
}
