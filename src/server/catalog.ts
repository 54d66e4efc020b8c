/**
 * What the server offers as models: every chain by its name, and every manifest model as a chain of
 * one stage, under `model/NAME`. Chain names cannot hold a `/` (schemas/chain.schema.json), so the
 * two never clash, even where a chain and a model share a name (`quick` the chain, `model/quick` the
 * model). A model's chain is run by the same engine.run as any chain: it is only a ChainDef made
 * here, whose one stage reads `{{memory}}` and `{{query}}` as chains/single.yaml does, so sessions
 * and a request's earlier messages reach the model as they reach a chain's stages.
 */
import type { ChainDef } from '../engine/types.js'

export const MODEL_PREFIX = 'model/'

export interface Served {
  /** the id clients name in `model` */
  id: string
  chain: ChainDef
  kind: 'chain' | 'model'
  description?: string
}

export function modelChain(model: string): ChainDef {
  return {
    name: MODEL_PREFIX + model,
    value: {
      name: MODEL_PREFIX + model,
      description: `The manifest model "${model}" alone, as a chain of one stage.`,
      stages: { answer: { model, prompt: '{{memory}}\n{{query}}' } },
    },
  }
}

/** Chains first, then the models, each list in the order it came. */
export function servedModels(chains: ChainDef[], models: string[]): Served[] {
  return [
    ...chains.map((c) => ({
      id: c.name,
      chain: c,
      kind: 'chain' as const,
      ...(c.value.description ? { description: c.value.description } : {}),
    })),
    ...models.map((m) => {
      const chain = modelChain(m)
      return { id: chain.name, chain, kind: 'model' as const, description: chain.value.description! }
    }),
  ]
}
