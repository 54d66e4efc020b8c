/**
 * What every Mirador command shares: `--json`, `--config`, `--debug`, and errors printed as one
 * clear line with their stable code (a stack trace only with --debug).
 */
import { Command, Flags, type Interfaces } from '@oclif/core'
import { MiradorError } from '../engine/errors.js'
import { commonFlags } from '../cli/spec.js'
import { toOclifFlags } from './oclif-spec.js'

export abstract class MiradorCommand extends Command {
  static enableJsonFlag = true
  static baseFlags = toOclifFlags(commonFlags)

  protected async catch(err: Interfaces.CommandError): Promise<unknown> {
    if (!(err instanceof MiradorError)) return super.catch(err)
    if (this.jsonEnabled()) this.logJson({ error: err.toJSON() })
    else this.logToStderr(`✗ ${err.code}: ${err.format()}`)
    if (this.argv.includes('--debug') && err.stack) this.logToStderr(err.stack)
    return this.exit(err.code === 'USAGE' ? 2 : 1)
  }
}

export { Flags }
