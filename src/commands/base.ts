/**
 * What every Mirador command shares: `--json`, `--config`, `--debug`, errors printed as one
 * clear line with their stable code (a stack trace only with --debug), and text made safe for a
 * terminal: everything a command logs may hold text from YAML files, models or tools, so all of
 * it goes through the renderers' one escaper (`safeText`): no escape sequence, BEL or bidi
 * override in a chain's description can reach the terminal. `--json` output is JSON, as is: printed
 * with JSON.stringify, not oclif's colouriser, whose tokenizer slices the text once per token and
 * whose string pattern overflows the stack on a string of a few megabytes (a large memory).
 */
import { format } from 'node:util'
import { Command, Flags, type Interfaces } from '@oclif/core'
import { safeText } from '../cli/render/format.js'
import { MiradorError } from '../engine/errors.js'
import { commonFlags } from '../cli/spec.js'
import { toOclifFlags } from './oclif-spec.js'

export abstract class MiradorCommand extends Command {
  static enableJsonFlag = true
  static baseFlags = toOclifFlags(commonFlags)

  log(message = '', ...args: unknown[]): void {
    super.log(safeText(format(message, ...args)))
  }

  logToStderr(message = '', ...args: unknown[]): void {
    super.logToStderr(safeText(format(message, ...args)))
  }

  logJson(json: unknown): void {
    process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
  }

  protected async catch(err: Interfaces.CommandError): Promise<unknown> {
    if (!(err instanceof MiradorError)) return super.catch(err)
    if (this.jsonEnabled()) this.logJson({ error: err.toJSON() })
    else this.logToStderr(`✗ ${err.code}: ${err.format()}`)
    if (this.argv.includes('--debug') && err.stack) this.logToStderr(err.stack)
    return this.exit(err.code === 'USAGE' ? 2 : 1)
  }
}

export { Flags }
