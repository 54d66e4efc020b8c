/**
 * Runs the git CLI for an exchange: no shell, no prompt (a missing credential fails instead of
 * waiting), no hooks, no signing, and a neutral identity so no commit carries the user's name.
 */
import { execFile } from 'node:child_process'

export interface GitResult {
  ok: boolean
  stdout: string
  stderr: string
}

export type Git = (args: string[]) => Promise<GitResult>

export function makeGit(cwd: string, member: string, signal?: AbortSignal): Git {
  const who = `mirador member ${member}`
  const email = `${member}@members.mirador.invalid`
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
    GIT_AUTHOR_NAME: who,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: who,
    GIT_COMMITTER_EMAIL: email,
    LC_ALL: 'C',
  }
  const fixed = [
    '-c',
    'core.hooksPath=/dev/null',
    '-c',
    'commit.gpgsign=false',
    '-c',
    'core.autocrlf=false',
    '-c',
    'gc.auto=0',
    '-c',
    'advice.detachedHead=false',
  ]
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(
        'git',
        [...fixed, ...args],
        { cwd, env, signal, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (err && (err as NodeJS.ErrnoException).code === 'ENOENT' && !stderr) return reject(err)
          if (err && err.name === 'AbortError') return reject(err)
          resolve({ ok: !err, stdout, stderr })
        },
      )
    })
}
