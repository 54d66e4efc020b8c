/** Loading chain files: schema, then the stage graph, each error with its position. */
import path from 'node:path'
import { graphProblems } from '../engine/chain.js'
import { locate, loadConfigFile, type ChainFile, type Loaded } from '../engine/config/index.js'
import type { ChainDef } from '../engine/engine.js'
import { MiradorError } from '../engine/errors.js'
import { formatProblems } from '../engine/format.js'
import { CHAIN_FILE } from './chain-files.js'

/** Every problem of a chain file beyond its schema: the stages' format schemas, the graph, with positions. */
export function chainProblems(loaded: Loaded<ChainFile>): MiradorError[] {
  const at = (code: 'CONFIG_INVALID' | 'CHAIN_GRAPH') => (p: { path: (string | number)[]; message: string }) =>
    new MiradorError(code, p.message, {
      location: locate(loaded as Loaded<unknown>, p.path),
      details: { path: p.path },
    })
  return [
    ...formatProblems(loaded.value.stages).map(at('CONFIG_INVALID')),
    ...graphProblems(loaded.value.stages, loaded.value.answer).map(at('CHAIN_GRAPH')),
  ]
}

export async function loadChain(file: string, stageKeys: Record<string, object> = {}): Promise<ChainDef> {
  const loaded = await loadConfigFile<ChainFile>(file, 'chain', { extraStageProperties: stageKeys })
  const problem = chainProblems(loaded)[0]
  if (problem) throw problem
  return { name: loaded.value.name ?? path.basename(file).replace(CHAIN_FILE, ''), file, value: loaded.value }
}
