/**
 * The npm CLI that ships with Node, run as a child process: Mirador fetches, packs and installs
 * plugins with it rather than with a library of its own. Every call runs with install scripts off
 * (`ignore-scripts`, which also skips prepack/prepare when a folder is packed), no audit, no fund
 * and no update check; the user's registry, cache and proxy settings (npm_config_*, .npmrc) apply.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { MiradorError } from '../engine/errors.js'

/** npm's own script beside this Node (no shell, no PATH lookup), else `npm` from PATH. */
function npmCommand(): { cmd: string; pre: string[] } {
  const cli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')
  return existsSync(cli) ? { cmd: process.execPath, pre: [cli] } : { cmd: 'npm', pre: [] }
}

export interface NpmResult {
  stdout: string
  stderr: string
}

export function runNpm(args: string[], cwd: string, what: string): Promise<NpmResult> {
  const { cmd, pre } = npmCommand()
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...pre, ...args], {
      cwd,
      env: {
        ...process.env,
        npm_config_ignore_scripts: 'true',
        npm_config_audit: 'false',
        npm_config_fund: 'false',
        npm_config_update_notifier: 'false',
        npm_config_loglevel: 'error',
        npm_config_progress: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', (err) =>
      reject(new MiradorError('PLUGIN_INSTALL', `${what}: npm could not be started (${err.message}).`)),
    )
    child.on('close', (code) => {
      if (code === 0) return resolve({ stdout, stderr })
      const why = npmProblem(stderr) ?? `npm exited with status ${code}`
      reject(new MiradorError('PLUGIN_INSTALL', `${what}: ${why}`, { details: { npm: args[0], stderr } }))
    })
  })
}

/** npm's one-line reason (its `npm error` lines), without the log-file noise. */
function npmProblem(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^npm (?:error|ERR!)\s*/, '').trim())
    .filter((l) => l && !/complete log|A complete log|^code E|^errno/.test(l))
  return lines.length ? lines.slice(0, 3).join(' ') : undefined
}
