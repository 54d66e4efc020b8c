/** A real `mirador serve` process for tests: started with --json, stopped with SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process'
import { BIN } from './cli.js'

export interface ServeProcess {
  /** what --json printed: http://HOST:PORT/v1 */
  url: string
  port: number
  stderr: () => string
  /** SIGTERM, then the exit code */
  stop(): Promise<number | null>
}

export function startServe(args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }): Promise<ServeProcess> {
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--json', ...args], {
    cwd: opts.cwd,
    env: { PATH: process.env.PATH, HOME: opts.cwd, NO_COLOR: '1', MIRADOR_MEMORY: 'off', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    return exited
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`mirador serve did not listen in time\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, 20_000)
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString()
      const line = stdout.split('\n').find((l) => l.startsWith('{'))
      if (!line || !stdout.includes('\n')) return
      clearTimeout(timer)
      const { url } = JSON.parse(line) as { url: string }
      resolve({ url, port: Number(new URL(url).port), stderr: () => stderr, stop })
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`mirador serve exited (${code}) before listening\nstderr: ${stderr}`))
    })
  })
}
