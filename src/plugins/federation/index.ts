export { FederationPlugin, PLUGIN_NAME, type FederationOptions } from './FederationPlugin.js'
export {
  DEFAULT_PRIOR_WEIGHT,
  communityPrior,
  loadPrior,
  parsePrior,
  priorFor,
  priorSource,
  type CommunityPrior,
  type LoadedPrior,
  type PriorFile,
} from './prior.js'
