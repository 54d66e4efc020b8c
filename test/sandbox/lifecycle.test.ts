/** A plugin host never outlives Mirador: killed outright (SIGKILL), the host still exits. */
import { describe, expect, it } from '@jest/globals'
import { spawn } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { alive, waitUntil } from './support.js'

const PARENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'parent.mjs')

describe('a plugin host', () => {
  it('exits when the Mirador process that started it is killed', async () => {
    const parent = spawn(process.execPath, [PARENT], { stdio: ['ignore', 'pipe', 'inherit'] })
    const pid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      parent.once('exit', (code) => reject(new Error(`the parent exited first (${code})`)))
    })
    expect(alive(pid)).toBe(true)
    parent.kill('SIGKILL')
    expect(await waitUntil(() => !alive(pid))).toBe(true)
  })
})
