/**
 * `GET /v1/models`: every chain that can be run by name, as an OpenAI model whose id is its name,
 * then every manifest model as `model/NAME` (catalog.ts). `mirador.kind` tells them apart.
 */
import type { FastifyInstance } from 'fastify'
import type { Served } from '../catalog.js'

export function modelsRoute(app: FastifyInstance, served: () => Promise<Served[]>, startedAt: number): void {
  app.get('/v1/models', async () => ({
    object: 'list',
    data: (await served()).map((s) => ({
      id: s.id,
      object: 'model',
      created: startedAt,
      owned_by: 'mirador',
      ...(s.description ? { description: s.description } : {}),
      mirador: { kind: s.kind },
    })),
  }))
}
