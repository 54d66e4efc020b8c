/**
 * A real pseudo-terminal for CLI tests: a tmux server of the test's own (its own socket) with one
 * pane running a command; keys are sent as a user types them, and the screen is read as tmux shows
 * it (`capture-pane`), not as the bytes written.
 */
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'

/** a word quoted for sh */
export const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export interface TmuxPane {
  screen(): string
  keys(...keys: string[]): Buffer
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  close(): void
}

/** A tmux server of our own (its own socket) with one pane running `command`, `width` × `height`. */
export function tmux(dir: string, width: number, height: number, command: string): TmuxPane {
  const socket = path.join(dir, 'tmux.sock')
  const conf = path.join(dir, 'tmux.conf')
  // the pane stays when its command ends, so the screen can be read after the CLI exits
  writeFileSync(conf, 'set -g remain-on-exit on\n')
  const run = (...args: string[]) => execFileSync('tmux', ['-S', socket, '-f', conf, ...args], { cwd: dir })
  run('new-session', '-d', '-x', String(width), '-y', String(height), command)
  const screen = () => run('capture-pane', '-p').toString()
  return {
    screen,
    keys: (...keys: string[]) => run('send-keys', ...keys),
    async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
      const until = Date.now() + timeoutMs
      for (;;) {
        const text = screen()
        if (pattern.test(text)) return text
        if (Date.now() > until) throw new Error(`the screen never showed ${pattern}:\n${text}`)
        await new Promise((res) => setTimeout(res, 50))
      }
    },
    close: () => {
      try {
        run('kill-server')
      } catch {
        // the server is gone already
      }
    },
  }
}
