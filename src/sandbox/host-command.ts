/**
 * Inside the host: runs one of the plugin's commands (`mirador NAME`). The function is
 * `commands[run]` of the plugin's module (already loaded and applied by host-main.ts), called with
 * the parsed input and an `io` whose output goes back to Mirador, which prints it: the host has no
 * terminal of its own. What it returns is the command's exit status; what it throws, its error.
 * A trusted plugin's commands run in Mirador's process with the same function and io
 * (src/cli/plugin-commands/run.ts).
 */
import { pathToFileURL } from 'node:url'
import { errorData, toData } from './hook-data.js'
import type { FromHost, HostCommandCall } from './protocol.js'

export type CommandFunction = (input: unknown, io: CommandIo) => unknown

/** What a command function gets as its second argument. */
export interface CommandIo {
  /** text to standard output, as it is */
  write(text: unknown): void
  /** a line to standard error (progress, warnings): standard output stays the command's data */
  log(...parts: unknown[]): void
  /** its config entry's `options:` */
  options: unknown
  /** the folder Mirador was started in */
  cwd: string
}

export function commandIo(out: (stream: 'stdout' | 'stderr', text: string) => void, options: unknown, cwd: string) {
  return Object.freeze<CommandIo>({
    write: (text) => out('stdout', String(text)),
    log: (...parts) => out('stderr', `${parts.map(String).join(' ')}\n`),
    options: structuredClone(options),
    cwd,
  })
}

/** The function `commands[run]` of a plugin's module, or an error saying what to export. */
export async function commandFunction(entryFile: string, run: string): Promise<CommandFunction> {
  const mod = (await import(pathToFileURL(entryFile).href)) as { commands?: Record<string, unknown> }
  const fn = mod.commands && Object.hasOwn(mod.commands, run) ? mod.commands[run] : undefined
  if (typeof fn !== 'function') {
    throw new Error(
      `its module exports no function commands.${run}, which its package.json names: ` +
        `export const commands = { ${run}: async (input, io) => 0 }`,
    )
  }
  return fn as CommandFunction
}

export interface CommandDeps {
  post(message: FromHost): void
  /** the plugin's load (its module imported, @mirador/plugin-api resolvable) */
  loaded: Promise<void> | undefined
  /** reports an ERR_ACCESS_DENIED the command let escape */
  refusedIn(err: unknown): void
}

export async function runCommand(m: HostCommandCall, { post, loaded, refusedIn }: CommandDeps): Promise<void> {
  await loaded
  const io = commandIo(
    (stream, text) => post({ t: 'emit', call: m.id, runId: '', event: { type: 'output', stream, text } }),
    m.options,
    m.cwd,
  )
  try {
    const fn = await commandFunction(m.entryFile, m.run)
    post({ t: 'result', id: m.id, ok: true, value: toData(await fn(structuredClone(m.input), io)) })
  } catch (err) {
    refusedIn(err)
    post({ t: 'result', id: m.id, ok: false, error: errorData(err) })
  }
}
