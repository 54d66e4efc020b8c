/** Runs the real CLI (bin/run.js, built into dist/) as a child process, as a user would. */
import { spawn } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LooseEvent as RunEvent } from './events.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = path.join(ROOT, 'bin', 'run.js')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  ms: number
  /** stdout parsed as NDJSON (only lines that parse) */
  events: RunEvent[]
}

export function runCli(
  args: string[],
  opts: {
    cwd: string
    env?: NodeJS.ProcessEnv
    input?: string
    timeoutMs?: number
    signalWhen?: { stdout: RegExp; signal: NodeJS.Signals }
    /** another install's bin/run.js (default: this checkout's) */
    bin?: string
  },
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, [opts.bin ?? BIN, ...args], {
      cwd: opts.cwd,
      // memory is off unless a test turns it on: each memory run starts a Chroma server
      env: {
        PATH: process.env.PATH,
        HOME: opts.cwd,
        NO_COLOR: '1',
        MIRADOR_MEMORY: 'off',
        MIRADOR_CHROMA_IDLE_MS: '30000',
        ...opts.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    let signalled = false
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      if (opts.signalWhen && !signalled && opts.signalWhen.stdout.test(stdout)) {
        signalled = true
        child.kill(opts.signalWhen.signal)
      }
    })
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(
        new Error(
          `CLI did not finish in ${opts.timeoutMs ?? 20000} ms: mirador ${args.join(' ')}\n` +
            `stdout: ${stdout}\nstderr: ${stderr}`,
        ),
      )
    }, opts.timeoutMs ?? 20000)
    child.on('close', (code) => {
      clearTimeout(timer)
      const events = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as RunEvent]
          } catch {
            return []
          }
        })
      resolve({ code, stdout, stderr, ms: performance.now() - t0, events })
    })
    if (opts.input !== undefined) child.stdin.end(opts.input)
    else child.stdin.end()
  })
}

/** A throw-away project folder with chains, a manifest and a config, and an empty MIRADOR_HOME. */
export function makeProject(files: Record<string, string>): { dir: string; home: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mirador-test-'))
  for (const [rel, text] of Object.entries(files)) {
    const file = path.join(dir, rel)
    mkdirSync(path.dirname(file), { recursive: true })
    writeFileSync(file, text)
  }
  const home = path.join(dir, '.mirador-home')
  // as Mirador makes it: private (doctor reports a looser one)
  mkdirSync(home, { recursive: true, mode: 0o700 })
  return { dir, home }
}
