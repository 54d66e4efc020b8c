/**
 * The JSON Schemas themselves: valid draft-07 (Mirador compiles them with `validateSchema: false`
 * for start-up speed, so this is where they are checked), documented for editors, and in step
 * with the generated types.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { promisify } from 'node:util'
import { describe, expect, it } from '@jest/globals'
import { getSchema, schemaFile, validateConfigFile, type ConfigKind } from '../../src/engine/config/index.js'
import { getOptionsValidator } from '../../src/engine/config/validate.js'
import { validatePluginOptions } from '../../src/engine/plugin-options.js'

const KINDS: ConfigKind[] = ['chain', 'manifest', 'config', 'profile', 'tool', 'federation-group']
const PLUGINS = ['models', 'memory', 'tools', 'learner', 'energy', 'federation']
const pluginSchema = (name: string) =>
  JSON.parse(readFileSync(`schemas/plugins/${name}.schema.json`, 'utf8')) as Record<string, unknown>
const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv')

type Schema = Record<string, unknown>

/** Every [pointer, schema] that describes a property value (under properties, additionalProperties, items). */
function propertySchemas(node: unknown, pointer = ''): Array<[string, Schema]> {
  const out: Array<[string, Schema]> = []
  if (!node || typeof node !== 'object' || Array.isArray(node)) return out
  const s = node as Schema
  for (const [k, v] of Object.entries((s.properties as Record<string, unknown>) ?? {})) {
    out.push([`${pointer}/properties/${k}`, v as Schema], ...propertySchemas(v, `${pointer}/properties/${k}`))
  }
  for (const key of ['additionalProperties', 'items']) {
    const v = s[key]
    if (v && typeof v === 'object')
      out.push([`${pointer}/${key}`, v as Schema], ...propertySchemas(v, `${pointer}/${key}`))
  }
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const list = s[key]
    if (Array.isArray(list)) list.forEach((v, i) => out.push(...propertySchemas(v, `${pointer}/${key}/${i}`)))
  }
  for (const [k, v] of Object.entries((s.definitions as Record<string, unknown>) ?? {})) {
    out.push(...propertySchemas(v, `${pointer}/definitions/${k}`))
  }
  return out
}

describe('schemas', () => {
  it.each(KINDS)('%s: valid draft-07, strict, with $id, title and description', (kind) => {
    const raw = JSON.parse(readFileSync(schemaFile(kind), 'utf8')) as Schema
    expect(raw).toEqual(getSchema(kind))
    expect(raw.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(raw.$id).toBe(`https://mirador.local/schemas/${kind}.schema.json`)
    expect(typeof raw.title).toBe('string')
    expect(typeof raw.description).toBe('string')
    expect(raw.type).toBe('object')
    expect(raw.additionalProperties).toBe(false)
    const ajv = new Ajv({
      strict: true,
      strictRequired: false,
      strictTypes: false,
      allowUnionTypes: true,
      validateSchema: true,
    })
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' })
    ajv.addFormat('uri', true)
    // config.schema.json takes each built-in plugin's options from schemas/plugins/ (editors follow the $ref)
    for (const name of [...PLUGINS, 'mcp']) ajv.addSchema(pluginSchema(name))
    expect(ajv.validateSchema(raw)).toBe(true)
    expect(() => ajv.compile(raw)).not.toThrow()
  })

  it.each(KINDS)('%s: every property has a description (editors show it)', (kind) => {
    const missing = propertySchemas(getSchema(kind))
      .filter(([, s]) => typeof s.description !== 'string' && typeof s.$ref !== 'string')
      .map(([p]) => p)
    expect(missing).toEqual([])
  })

  it.each(KINDS)('%s: every object is closed, except where free-form content is intended', (kind) => {
    const open = propertySchemas(getSchema(kind))
      .filter(([, s]) => s.type === 'object' && s.additionalProperties === undefined)
      .map(([p]) => p)
    const intended: Record<ConfigKind, string[]> = {
      // a stage's format schema is the user's own JSON Schema
      chain: ['/definitions/stage/properties/format/anyOf/1/properties/schema'],
      manifest: [],
      config: ['/properties/plugins/items/anyOf/1/properties/options'],
      profile: [],
      tool: ['/properties/parameters', '/properties/parameters/properties/properties/additionalProperties'],
      'federation-group': [],
    }
    expect(open).toEqual(intended[kind])
  })
})

describe('built-in plugin option schemas (schemas/plugins/)', () => {
  it.each(PLUGINS)('%s: valid draft-07, closed, every property described, config takes it', (name) => {
    const raw = pluginSchema(name)
    expect(raw.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(raw.$id).toBe(`https://mirador.local/schemas/plugins/${name}.schema.json`)
    expect(raw.additionalProperties).toBe(false)
    const ajv = new Ajv({ strict: true, strictRequired: false, strictTypes: false, validateSchema: true })
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' })
    expect(ajv.validateSchema(raw)).toBe(true)
    expect(() => ajv.compile(raw)).not.toThrow()
    const undocumented = propertySchemas(raw)
      .filter(([, s]) => typeof s.description !== 'string' && typeof s.$ref !== 'string')
      .map(([p]) => p)
    expect(undocumented).toEqual([])
    const builtins = (getSchema('config').properties as Record<string, Schema>).builtins!.properties as Record<
      string,
      { anyOf: Schema[] }
    >
    expect(builtins[name]!.anyOf[1]).toEqual({ $ref: `plugins/${name}.schema.json` })
  })
})

describe('MCP servers (schemas/plugins/mcp.schema.json, the `mcp:` key of config)', () => {
  it('valid draft-07, closed, every property described, config takes it at mcp:', () => {
    const raw = pluginSchema('mcp')
    expect(raw.$id).toBe('https://mirador.local/schemas/plugins/mcp.schema.json')
    expect(raw.additionalProperties).toBe(false)
    const ajv = new Ajv({ strict: true, strictRequired: false, strictTypes: false, validateSchema: true })
    ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' })
    expect(ajv.validateSchema(raw)).toBe(true)
    const validate = ajv.compile(raw)
    expect(propertySchemas(raw).filter(([, s]) => typeof s.description !== 'string' && !s.$ref)).toEqual([])
    expect(validate({ servers: { files: { command: 'npx', args: ['-y', 'x'], env: { A: 'b' } } } })).toBe(true)
    // '-' separates the server from its tool in SERVER-TOOL
    expect(validate({ servers: { 'my-files': { command: 'npx' } } })).toBe(false)
    expect(validate({ servers: { files: { args: [] } } })).toBe(false)
    const config = getSchema('config').properties as Record<string, Schema>
    expect(config.mcp).toEqual({ $ref: 'plugins/mcp.schema.json' })
  })
})

describe('plugin permissions (schemas/plugin-permissions.schema.json, for plugin manifests)', () => {
  const raw = JSON.parse(readFileSync('schemas/plugin-permissions.schema.json', 'utf8')) as Schema
  const ajv = new Ajv({ strict: true, strictRequired: false, strictTypes: false, validateSchema: true })
  ajv.addKeyword({ keyword: 'x-hint', schemaType: 'string' })

  it('valid draft-07, closed, every property described', () => {
    expect(raw.$schema).toBe('http://json-schema.org/draft-07/schema#')
    expect(raw.$id).toBe('https://mirador.local/schemas/plugin-permissions.schema.json')
    expect(ajv.validateSchema(raw)).toBe(true)
    const undocumented = propertySchemas(raw).filter(([, s]) => typeof s.description !== 'string')
    expect(undocumented.map(([p]) => p)).toEqual([])
    const open = propertySchemas(raw).filter(([, s]) => s.type === 'object' && s.additionalProperties !== false)
    expect(open.map(([p]) => p)).toEqual([])
  })

  it('takes real declarations and refuses mistakes', () => {
    const validate = ajv.compile(raw)
    expect(
      validate({
        fs: { read: ['~/notes', '/etc/hosts'], write: ['data/**'] },
        network: ['api.example.com', '*.example.org', '127.0.0.1:11434', '[::1]:8080'],
        env: ['MY_API_KEY'],
        childProcess: true,
      }),
    ).toBe(true)
    expect(validate({})).toBe(true)
    for (const bad of [
      { network: ['https://api.example.com'] },
      { network: ['*'] },
      { env: ['NOT-A-NAME'] },
      { fs: { exec: ['x'] } },
      { childProcess: 'yes' },
      { sockets: true },
    ])
      expect([bad, validate(bad)]).toEqual([bad, false])
  })
})

describe('built-in options without a schema compile', () => {
  it.each(PLUGINS)('%s: no options give exactly the defaults ajv would fill in', (name) => {
    const schema = pluginSchema(name)
    const fast = validatePluginOptions(name, schema, {})
    const full = {}
    expect(getOptionsValidator(schema)(full)).toBe(true)
    expect(fast).toEqual(full)
    expect(validatePluginOptions(name, schema, undefined)).toEqual(full)
  })
})

describe('generated types', () => {
  it("types.gen.ts and the plugins' options.gen.ts are up to date with the schemas (npm run gen:types)", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['scripts/gen-types.js', '--check'], {
      timeout: 60_000,
    })
    expect(stdout).toContain('up to date')
  }, 60_000)
})

describe('shipped defaults', () => {
  const dirs: Array<[string, ConfigKind]> = [
    ['chains', 'chain'],
    ['profiles', 'profile'],
    ['tools', 'tool'],
  ]
  const files: Array<[string, ConfigKind]> = []
  for (const [dir, kind] of dirs) {
    if (existsSync(dir)) for (const f of readdirSync(dir)) if (/\.ya?ml$/.test(f)) files.push([`${dir}/${f}`, kind])
  }
  if (existsSync('models/manifest.yaml')) files.push(['models/manifest.yaml', 'manifest'])
  if (existsSync('mirador.config.yaml')) files.push(['mirador.config.yaml', 'config'])

  it.each(files.length > 0 ? files : [['(none)', 'chain'] as [string, ConfigKind]])(
    '%s validates',
    async (file, kind) => {
      if (file === '(none)') return
      // shipped chains may use the stage keys the built-in plugins add (tools, memory)
      const { setup } = await import('../../src/cli/setup.js')
      const { engine } = await setup({ env: { MIRADOR_HOME: '/nonexistent-mirador-home', MIRADOR_MEMORY: 'off' } })
      const res = await validateConfigFile(
        file,
        kind,
        kind === 'chain' ? { extraStageProperties: engine.stageKeys() } : {},
      )
      expect(res.errors.map((e) => e.format())).toEqual([])
    },
  )
})
