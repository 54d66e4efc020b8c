// An example third-party Mirador plugin, written exactly as one published on npm would be: it
// depends on nothing from Mirador but the hook API it is handed in apply().
//
// - adds a {{today}} template variable (the date in the configured time zone, YYYY-MM-DD)
// - emits a `timestamp` event (wall-clock time) as each stage builds its prompt

const PLUGIN_NAME = 'TodayPlugin'

const OPTIONS = { timeZone: 'string', locale: 'string' }

function validate(options) {
  if (options === undefined || options === null) return {}
  if (typeof options !== 'object' || Array.isArray(options)) throw new Error('options must be a map')
  for (const [key, value] of Object.entries(options)) {
    if (!(key in OPTIONS)) throw new Error(`unknown option "${key}" (allowed: ${Object.keys(OPTIONS).join(', ')})`)
    if (typeof value !== OPTIONS[key]) throw new Error(`option "${key}" must be a ${OPTIONS[key]}`)
  }
  if (options.timeZone) new Intl.DateTimeFormat('en', { timeZone: options.timeZone }) // throws on an unknown zone
  return { ...options }
}

export default class TodayPlugin {
  name = PLUGIN_NAME
  apiVersion = 1

  constructor(options) {
    this.options = validate(options)
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

  apply(engine) {
    // {{today}} is ours: Mirador does not report it as an unknown variable
    engine.registerTemplateVars?.(['today'])
    engine.hooks.prompt.tap(PLUGIN_NAME, (prompt, context) => {
      const now = new Date()
      context.emit({ type: 'timestamp', stage: context.stage, iso: now.toISOString(), today: this.today(now) })
      return { ...prompt, vars: { ...prompt.vars, today: this.today(now) } }
    })
  }
}
