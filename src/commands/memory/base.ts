/** What the memory and session commands share: the memory plugin, set up, or a clear refusal. */
import { Flags } from '@oclif/core'
import { askYesNo } from '../../cli/ask.js'
import { setup, type Setup } from '../../cli/setup.js'
import { MiradorError } from '../../engine/errors.js'
import type { MemoryPlugin } from '../../plugins/memory/index.js'
import type { Unreadable } from '../../plugins/memory/types.js'

export async function memorySetup(config?: string): Promise<Setup & { memory: MemoryPlugin }> {
  const s = await setup(config ? { config } : {})
  if (!s.memory)
    throw new MiradorError(
      'USAGE',
      'the memory plugin is turned off (builtins: { memory: false } in mirador.config.yaml)',
    )
  if (!s.engine.settings.memory)
    throw new MiradorError(
      'USAGE',
      'memory is off (MIRADOR_MEMORY=off, or memory: off in mirador.config.yaml): ' +
        'nothing is kept, so there is nothing to show or forget',
    )
  return s as Setup & { memory: MemoryPlugin }
}

export const yesFlag = Flags.boolean({ char: 'y', description: 'Do not ask for confirmation.' })

/** Asks before something that cannot be undone; without a terminal, --yes is required. */
export async function confirm(question: string, yes: boolean): Promise<void> {
  if (yes) return
  if (!process.stdin.isTTY)
    throw new MiradorError('USAGE', `${question} Run again with --yes to confirm (no terminal to ask on).`)
  if (!(await askYesNo(`${question} [y/N] `))) throw new MiradorError('ABORTED', 'nothing was forgotten')
}

/**
 * What a memory command says besides its result: a $MIRADOR_HOME open to others, and records of
 * the store that do not open with the key (skipped, never a failure of the whole listing).
 */
export async function storeNotes(memory: MemoryPlugin): Promise<{ warnings: string[]; unreadable: Unreadable[] }> {
  const warnings = [...(await memory.cipher()).warnings]
  const unreadable = (await memory.store()).unreadable()
  if (unreadable.length) {
    const ids = unreadable.map((u) => u.id).join(', ')
    warnings.push(
      `${unreadable.length} record(s) do not open with your key and were skipped: ${ids} ` +
        '(added by something other than Mirador, altered, or sealed with an earlier key; ' +
        '`mirador memory forget ID --yes` removes one)',
    )
  }
  return { warnings, unreadable }
}

export function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 16)
}

export function oneLine(text: string, width = 90): string {
  const t = text.replace(/\s+/g, ' ').trim()
  return t.length > width ? `${t.slice(0, width - 1)}…` : t
}

/** `1 memory`, `3 memories` */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

/**
 * What a forget removed, in words: "2 memories, 1 session". Each tap of the forget hook counts
 * under a plural noun phrase ("memories", "session turns", "learner records"); a count of one
 * takes the singular of its last word.
 */
export function removedList(removed: Record<string, number>): string {
  return Object.entries(removed)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${n === 1 ? k.replace(/ies$/, 'y').replace(/([^s])s$/, '$1') : k}`)
    .join(', ')
}
