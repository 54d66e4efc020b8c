/**
 * Tools declared in tools/*.yaml: found in ./tools, then $MIRADOR_HOME/tools, then the shipped
 * tools (an earlier folder's tool hides a later one of the same name), validated by the tool
 * schema, their source read from a file that must stay inside the tool's own folder (no `..`, no
 * absolute path, no symbolic link out), their parameter schema compiled once.
 */
import { readFile, realpath } from 'node:fs/promises'
import path from 'node:path'
import { createRequire } from 'node:module'
import type { Ajv, ValidateFunction } from 'ajv'
import { loadConfigFile, locate, type ToolFile } from '../../engine/config/index.js'
import { listYamlFiles } from '../../engine/config/folders.js'
import { MiradorError } from '../../engine/errors.js'
import type { ToolDefinition } from '../../engine/runtime.js'

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
  // loaded when a tool is, not when the plugin is: a run without tools never pays for ajv
  ajv ??= new (createRequire(import.meta.url)('ajv') as typeof import('ajv')).Ajv({ allErrors: true, strict: false })
  let validate: ValidateFunction
  try {
    validate = ajv.compile(v.parameters)
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
    source: await readFile(real, 'utf8'),
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
