/**
 * Runs a plugin's command (`mirador NAME …`): argv parsed against the flags and arguments its
 * manifest declares (anything else is a USAGE error), a project plugin approved first, then its
 * function called in the plugin's sandboxed host, or in Mirador's process when its config entry
 * says `trusted: true`. Its output is text: control characters are escaped as for model output.
 * Returns the exit status (what the function returned, 0 when it returned no number); throws
 * MiradorError for what went wrong, the plugin's own error code kept when it is one of Mirador's.
 */
import { ERROR_CODES, MiradorError, type ErrorCode } from '../../engine/errors.js'
import type { ErrorData } from '../../sandbox/protocol.js'
import { parseWithSpec } from '../argv.js'
import { approvalGate } from '../plugin-approval.js'
import { safeText } from '../render/format.js'
import type { PluginCommand } from './catalog.js'

export interface CommandContext {
  cwd: string
  env: NodeJS.ProcessEnv
  home: string
}

function write(stream: unknown, text: unknown): void {
  ;(stream === 'stderr' ? process.stderr : process.stdout).write(safeText(String(text)))
}

/** An exit status from what the command returned: an integer 0–255, else 0. */
function exitStatus(value: unknown): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 255 ? value : 0
}

function failure(command: PluginCommand, error: ErrorData | undefined): MiradorError {
  const code = error?.code && Object.hasOwn(ERROR_CODES, error.code) ? (error.code as ErrorCode) : 'PLUGIN_FAILED'
  return new MiradorError(
    code,
    `plugin ${command.loaded.name}, command "${command.name}": ${error?.message ?? 'failed'}`,
    { details: { plugin: command.loaded.name, command: command.name } },
  )
}

function parse(command: PluginCommand, argv: string[]) {
  try {
    return parseWithSpec(command.spec, argv)
  } catch (err) {
    const e = MiradorError.from(err, 'USAGE')
    const help = `See \`mirador ${command.name} --help\`.`
    // node:util's words for an unknown flag are about positionals; what the user needs is the flags
    const unknown = /^Unknown option '([^']+)'/.exec(e.message)?.[1]
    const flags = Object.keys(command.spec.flags).map((f) => `--${f}`)
    const message = unknown
      ? `mirador ${command.name} has no flag ${unknown} (its flags: ${flags.join(', ') || 'none'}). ${help}`
      : `mirador ${command.name}: ${e.message.replace(/See --help\.$/, help)}`
    throw new MiradorError(e.code, message)
  }
}

export async function runPluginCommand(command: PluginCommand, argv: string[], ctx: CommandContext): Promise<number> {
  const { args, flags } = parse(command, argv)
  const input = { args, flags, argv }
  const { plugin, loaded, entryFile } = command
  const options = typeof plugin.entry === 'string' ? undefined : plugin.entry.options
  if (command.unapproved) await approvalGate(ctx.home)(plugin, loaded)
  const run = command.manifest.run
  if (command.trusted) {
    const { commandFunction, commandIo } = await import('../../sandbox/host-command.js')
    try {
      const fn = await commandFunction(entryFile, run)
      return exitStatus(await fn(input, commandIo(write, options, ctx.cwd)))
    } catch (err) {
      throw failure(command, { message: err instanceof Error ? err.message : String(err), ...codeOf(err) })
    }
  }
  const [{ createSandboxedPlugin }, { Engine }] = await Promise.all([
    import('../../sandbox/index.js'),
    import('../../engine/engine.js'),
  ])
  const sandboxed = createSandboxedPlugin({
    name: loaded.name,
    entryFile,
    dir: loaded.dir,
    manifest: loaded.manifest,
    options,
    home: ctx.home,
  })
  // an engine of its own with nothing else applied: the host starts when the plugin is applied
  sandboxed.apply(new Engine({ cwd: ctx.cwd, home: ctx.home, offline: false, memory: false, config: {}, env: ctx.env }))
  try {
    const result = await sandboxed.command({ entryFile, run, input, options, cwd: ctx.cwd }, (event) =>
      write(event.stream, event.text),
    )
    if (!result.ok) throw failure(command, result.error)
    return exitStatus(result.value)
  } finally {
    await sandboxed.stop()
  }
}

function codeOf(err: unknown): { code?: string } {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? { code } : {}
}
