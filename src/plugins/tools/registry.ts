/**
 * Tools declared in tools/*.yaml: found in ./tools, then $MIRADOR_HOME/tools, then the shipped
 * tools (an earlier folder's tool hides a later one of the same name), validated by the tool
 * schema, their source read from a file that must stay inside the tool's own folder (no `..`, no
 * absolute path, no symbolic link out) and be a regular file of bounded size, their parameter
 * schema compiled once, its patterns with RE2.
 */
import { realpath } from 'node:fs/promises'
import path from 'node:path'
import { createRequire } from 'node:module'
import type { Ajv, ValidateFunction } from 'ajv'
import { loadConfigFile, locate, type SourceLocation, type ToolFile } from '../../engine/config/index.js'
import { listYamlFiles } from '../../engine/config/folders.js'
import { MiradorError } from '../../engine/errors.js'
import type { ToolDefinition } from '../../engine/runtime.js'
import { linearRegExp, re2, re2Refusal } from '../../lib/linear-regexp.js'
import { readRegularFile } from '../../lib/read-regular-file.js'
import { schemaPatterns } from '../../lib/schema-patterns.js'

export interface Tool {
  name: string
  description: string
  parameters: Record<string, unknown>
  /** the YAML file */
  file: string
  /** the module's path and text */
  sourceFile: string
  source: string
  declaredLimits: ToolFile['limits']
  capabilities: string[]
  validate: ValidateFunction
}

export function definitionOf(t: Tool): ToolDefinition {
  return { name: t.name, description: t.description, parameters: t.parameters }
}

let ajv: Ajv | undefined

/**
 * The ajv of tools' parameter schemas: not strict (a tool's schema may use keywords ajv does not
 * know), and matching `pattern` with RE2, in linear time: the arguments come from a model and the
 * schema from whoever wrote the tool. Loaded when a tool is, not when the plugin is.
 */
export function parametersAjv(): Ajv {
  ajv ??= new (createRequire(import.meta.url)('ajv') as typeof import('ajv')).Ajv({
    allErrors: true,
    strict: false,
    code: { regExp: linearRegExp },
  })
  return ajv
}

/**
 * Largest tool module read. Every call compiles the module afresh in a new isolate, so a tool
 * this large would already be slow; the bound is what keeps a huge or endless file out.
 */
export const MAX_SOURCE_BYTES = 1024 * 1024

/** The module's text: a regular file only (a FIFO would block the read forever), read with a bound. */
async function readSource(real: string, given: string, where: SourceLocation): Promise<string> {
  const r = await readRegularFile(real, MAX_SOURCE_BYTES)
  if (r.ok) return r.text
  const why =
    r.reason === 'not-regular'
      ? `is ${r.kind}, not a regular file. Point source: at the tool's .js or .mjs file.`
      : r.reason === 'too-large'
        ? `is ${r.bytes} bytes, over the ${MAX_SOURCE_BYTES} bytes a tool's module may have.`
        : `cannot be read (${r.errno}). Check its permissions.`
  throw new MiradorError('CONFIG_INVALID', `source: ${given} ${why}`, { location: where })
}

export async function loadTool(file: string): Promise<Tool> {
  const loaded = await loadConfigFile<ToolFile>(file, 'tool')
  const v = loaded.value
  const dir = path.dirname(path.resolve(file))
  const where = locate(loaded as never, ['source'])
  const sourceFile = path.resolve(dir, v.source)
  const inside = (p: string, root: string) => {
    const rel = path.relative(root, p)
    return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel)
  }
  if (!inside(sourceFile, dir))
    throw new MiradorError(
      'CONFIG_INVALID',
      `source: ${v.source} is outside the tool's folder ${dir}. Put the tool's file beside its YAML.`,
      { location: where },
    )
  let real: string
  try {
    real = await realpath(sourceFile)
  } catch {
    throw new MiradorError('CONFIG_INVALID', `source: ${v.source} does not exist (looked for ${sourceFile}).`, {
      location: where,
    })
  }
  if (!inside(real, await realpath(dir)))
    throw new MiradorError('CONFIG_INVALID', `source: ${v.source} is a link to ${real}, outside the tool's folder.`, {
      location: where,
    })
  const source = await readSource(real, v.source, where)
  for (const p of schemaPatterns(v.parameters)) {
    try {
      re2(p.pattern)
    } catch (err) {
      throw new MiradorError(
        'CONFIG_INVALID',
        `parameters: pattern ${JSON.stringify(p.pattern)}: ${re2Refusal(err)}.`,
        {
          location: locate(loaded as never, ['parameters', ...p.path], p.isKey ? 'key' : 'value'),
        },
      )
    }
  }
  let validate: ValidateFunction
  try {
    validate = parametersAjv().compile(v.parameters)
  } catch (err) {
    throw new MiradorError(
      'CONFIG_INVALID',
      `parameters: not a valid JSON Schema: ${err instanceof Error ? err.message : String(err)}`,
      { location: locate(loaded as never, ['parameters']) },
    )
  }
  return {
    name: v.name ?? path.basename(file).replace(/\.ya?ml$/, ''),
    description: v.description,
    parameters: v.parameters as Record<string, unknown>,
    file,
    sourceFile: real,
    source,
    declaredLimits: v.limits,
    capabilities: v.capabilities ?? [],
    validate,
  }
}

/** tools/*.yaml across the folders: the first of each name wins */
export { listYamlFiles as listToolFiles, type YamlListing as ToolListing } from '../../engine/config/folders.js'

/** Every tool the folders declare (the first of each name); a broken one is reported, not thrown. */
export async function loadTools(dirs: string[]): Promise<{ tools: Map<string, Tool>; errors: MiradorError[] }> {
  const tools = new Map<string, Tool>()
  const errors: MiradorError[] = []
  for (const t of listYamlFiles(dirs)) {
    if (t.shadowed) continue
    try {
      const tool = await loadTool(t.file)
      if (!tools.has(tool.name)) tools.set(tool.name, tool)
    } catch (err) {
      errors.push(MiradorError.from(err, 'CONFIG_INVALID'))
    }
  }
  return { tools, errors }
}

/** The ajv errors of a call's arguments as one short sentence. */
export function argumentErrors(tool: Tool): string {
  return (tool.validate.errors ?? [])
    .slice(0, 5)
    .map(
      (e) =>
        `${e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'arguments'} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})` : ''}`,
    )
    .join('; ')
}
