/**
 * The lines typed into `mirador chat`, kept for the up arrow across chats: one file,
 * `$MIRADOR_HOME/chat/history`, sealed with the memory key (AES-256-GCM, src/lib/crypto.ts) and
 * written atomically, so nothing typed is ever on disk in the clear. With memory off there is no
 * history at all: nothing is read or written, as for every other part of a run.
 *
 * A file that does not open (the key was replaced by `memory forget --all`, or it was altered) is
 * no reason to refuse a chat: it starts empty, says so once, and is replaced at the next save.
 */
import path from 'node:path'
import { openFile, sealFile, type Cipher } from '../../lib/crypto.js'

/** the newest lines kept, as a shell keeps its history */
export const HISTORY_SIZE = 1000

export interface HistoryStore {
  /** newest first, as node:readline keeps it */
  lines: string[]
  /** why the saved history could not be read, when it could not */
  unreadable?: string
  save(lines: string[]): Promise<void>
}

export function historyFile(home: string): string {
  return path.join(home, 'chat', 'history')
}

/** A store that keeps nothing (memory off). */
export function noHistory(): HistoryStore {
  return { lines: [], save: async () => {} }
}

export async function openHistory(home: string, cipher: Cipher): Promise<HistoryStore> {
  const file = historyFile(home)
  let lines: string[] = []
  let unreadable: string | undefined
  try {
    const text = await openFile(cipher, file)
    const parsed = text === undefined ? [] : (JSON.parse(text) as { lines?: unknown }).lines
    if (Array.isArray(parsed)) lines = parsed.filter((l): l is string => typeof l === 'string').slice(0, HISTORY_SIZE)
  } catch (err) {
    unreadable = err instanceof Error ? err.message : String(err)
  }
  return {
    lines,
    ...(unreadable !== undefined ? { unreadable } : {}),
    save: (next) => sealFile(cipher, file, JSON.stringify({ v: 1, lines: next.slice(0, HISTORY_SIZE) })),
  }
}
