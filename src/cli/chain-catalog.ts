/** The chain catalog the CLI gives the engine: chains/ folders (project, user, shipped), by name or path. */
import type { ChainCatalog } from '../engine/engine.js'
import type { ChainDef } from '../engine/types.js'
import { findChainFile, listChains } from './chain-files.js'
import { loadChain } from './chain-load.js'

export function folderCatalog(dirs: string[], cwd: string): ChainCatalog {
  return {
    async list(stageKeys) {
      const out: ChainDef[] = []
      // a name two files of one folder claim is not run by name: `chain validate` reports it
      for (const f of listChains(dirs).filter((c) => !c.shadowed && c.conflicts.length === 0)) {
        try {
          out.push(await loadChain(f.file, stageKeys))
        } catch {
          // an invalid chain cannot be run by name; `chain validate` reports it
        }
      }
      return out
    },
    load: (nameOrPath, stageKeys) => loadChain(findChainFile(nameOrPath, dirs, cwd), stageKeys),
  }
}
