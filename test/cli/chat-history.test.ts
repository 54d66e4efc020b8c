/**
 * The chat's history store (src/cli/chat/history.ts) with the real memory key: sealed on disk, read
 * back, kept to its size, and a history sealed with a replaced key starts afresh instead of failing.
 */
import { describe, expect, it } from '@jest/globals'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadCipher, replaceKey } from '../../src/lib/crypto.js'
import { HISTORY_SIZE, historyFile, openHistory } from '../../src/cli/chat/history.js'

const env = {}

describe('the chat history store', () => {
  it('keeps the lines sealed and private, newest first, at most HISTORY_SIZE', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-chat-history-'))
    const cipher = await loadCipher({ home, env })
    const store = await openHistory(home, cipher)
    expect(store.lines).toEqual([])
    const lines = Array.from({ length: HISTORY_SIZE + 5 }, (_, i) => `line ${i} about the okapi`)
    await store.save(lines)
    const raw = readFileSync(historyFile(home), 'utf8')
    expect(raw).not.toContain('okapi')
    expect(statSync(historyFile(home)).mode & 0o777).toBe(0o600)
    const again = await openHistory(home, cipher)
    expect(again.unreadable).toBeUndefined()
    expect(again.lines).toEqual(lines.slice(0, HISTORY_SIZE))
  })

  it('a history the key no longer opens (memory forget --all) starts afresh, saying why', async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'mirador-chat-history-'))
    await (await openHistory(home, await loadCipher({ home, env }))).save(['an old line'])
    const fresh = await replaceKey({ home, env })
    const store = await openHistory(home, fresh)
    expect(store.lines).toEqual([])
    expect(store.unreadable).toMatch(/history/)
    await store.save(['a new line'])
    expect((await openHistory(home, fresh)).lines).toEqual(['a new line'])
  })
})
