// An example third-party Mirador plugin, written exactly as one published on npm would be: it
// depends on nothing from Mirador but @mirador/plugin-api (MiradorError, validatePluginOptions
// and the types) and the hook API it is handed in apply().
//
// - adds a {{today}} template variable (the date in the configured time zone, YYYY-MM-DD)
// - emits a `timestamp` event (wall-clock time) as each stage builds its prompt
// - adds a `mirador today` command (declared in package.json under mirador.commands)

import { MiradorError, validatePluginOptions } from '@mirador/plugin-api'

const PLUGIN_NAME = 'TodayPlugin'

/** Its options, checked by Mirador's validator: unknown keys and wrong types are refused by name. */
const OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    timeZone: { type: 'string', description: 'an IANA time zone (default: the machine’s)' },
    locale: { type: 'string' },
  },
}

/** @implements {import('@mirador/plugin-api').MiradorPlugin} */
export default class TodayPlugin {
  name = PLUGIN_NAME
  apiVersion = 1

  /** @param {unknown} options the entry's `options:` in mirador.config.yaml */
  constructor(options) {
    /** @type {{ timeZone?: string, locale?: string }} */
    this.options = validatePluginOptions(PLUGIN_NAME, OPTIONS_SCHEMA, options)
    try {
      new Intl.DateTimeFormat('en', { timeZone: this.options.timeZone })
    } catch {
      // a MiradorError with a code reaches the user as the built-ins' errors do: code, then message
      throw new MiradorError(
        'PLUGIN_OPTIONS',
        `plugin ${PLUGIN_NAME}: options.timeZone "${this.options.timeZone}" is not a time zone. ` +
          'Use an IANA name such as Europe/Paris.',
        { details: { plugin: PLUGIN_NAME } },
      )
    }
  }

  today(now = new Date()) {
    // en-CA formats as YYYY-MM-DD
    return new Intl.DateTimeFormat('en-CA', {
      timeZone: this.options.timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    }).format(now)
  }

  /** @param {import('@mirador/plugin-api').PluginHost} engine */
  apply(engine) {
    // {{today}} is ours: Mirador does not report it as an unknown variable
    engine.registerTemplateVars(['today'])
    engine.hooks.prompt.tap(PLUGIN_NAME, (prompt, context) => {
      const now = new Date()
      context.emit({ type: 'timestamp', stage: context.stage, iso: now.toISOString(), today: this.today(now) })
      return { ...prompt, vars: { ...prompt.vars, today: this.today(now) } }
    })
  }
}

/**
 * The commands package.json declares (`mirador.commands.*.run` names a key here). Mirador parses
 * the command line against the declared flags, then calls the function in the plugin's sandbox:
 * `input` holds { args, flags, argv }, `io` writes to the terminal (write: standard output, log: a
 * line on standard error) and carries the config entry's `options`. The number returned is the
 * exit status.
 */
export const commands = {
  /** `mirador today [--json]` */
  async today(input, io) {
    const plugin = new TodayPlugin(io.options)
    const date = plugin.today()
    const timeZone = plugin.options.timeZone ?? new Intl.DateTimeFormat().resolvedOptions().timeZone
    io.write(input.flags.json ? `${JSON.stringify({ date, timeZone })}\n` : `${date}\n`)
    return 0
  },
}
