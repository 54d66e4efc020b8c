// oclif's explicit command strategy: no directory scan at start-up.
import Ask from './ask.js'
import ChainCopy from './chain/copy.js'
import ChainLs from './chain/ls.js'
import ChainRun from './chain/run.js'
import ChainShow from './chain/show.js'
import ChainValidate from './chain/validate.js'
import Chat from './chat.js'
import DocsAdd from './docs/add.js'
import DocsLs from './docs/ls.js'
import DocsRm from './docs/rm.js'
import DocsSearch from './docs/search.js'
import DocsSync from './docs/sync.js'
import Doctor from './doctor.js'
import EnergyProfile from './energy/profile.js'
import EnergyReport from './energy/report.js'
import FederationAggregate from './federation/aggregate.js'
import FederationContribute from './federation/contribute.js'
import FederationInit from './federation/init.js'
import FederationJoin from './federation/join.js'
import FederationLeave from './federation/leave.js'
import FederationPull from './federation/pull.js'
import FederationStatus from './federation/status.js'
import FederationVerify from './federation/verify.js'
import LearnDiff from './learn/diff.js'
import LearnReport from './learn/report.js'
import LearnRollback from './learn/rollback.js'
import PluginsApprove from './plugins/approve.js'
import PluginsCheck from './plugins/check.js'
import PluginsInfo from './plugins/info.js'
import PluginsInstall from './plugins/install.js'
import PluginsLs from './plugins/ls.js'
import PluginsRm from './plugins/rm.js'
import PluginsUpdate from './plugins/update.js'
import PluginsVerify from './plugins/verify.js'
import Mcp from './mcp.js'
import McpApprove from './mcp/approve.js'
import Rate from './rate.js'
import Serve from './serve.js'
import SchemasPath from './schemas/path.js'
import MemoryForget from './memory/forget.js'
import MemoryImport from './memory/import.js'
import MemoryReindex from './memory/reindex.js'
import MemoryLs from './memory/ls.js'
import MemorySearch from './memory/search.js'
import MemoryShow from './memory/show.js'
import MemoryStop from './memory/stop.js'
import SessionLs from './session/ls.js'
import SessionRm from './session/rm.js'
import SessionShow from './session/show.js'
import ToolsCheck from './tools/check.js'
import ToolsLs from './tools/ls.js'
import ToolsRun from './tools/run.js'
import ToolsValidate from './tools/validate.js'
import ModelsDu from './models/du.js'
import ModelsLoad from './models/load.js'
import ModelsLs from './models/ls.js'
import ModelsPull from './models/pull.js'
import ModelsUnload from './models/unload.js'
import ModelsVerify from './models/verify.js'
import Autocomplete from './autocomplete/index.js'
import AutocompleteScript from './autocomplete/script.js'

export const commands = {
  ask: Ask,
  'chain:copy': ChainCopy,
  'chain:ls': ChainLs,
  'chain:run': ChainRun,
  'chain:show': ChainShow,
  'chain:validate': ChainValidate,
  chat: Chat,
  'docs:add': DocsAdd,
  'docs:ls': DocsLs,
  'docs:rm': DocsRm,
  'docs:search': DocsSearch,
  'docs:sync': DocsSync,
  doctor: Doctor,
  'energy:profile': EnergyProfile,
  'energy:report': EnergyReport,
  'federation:aggregate': FederationAggregate,
  'federation:contribute': FederationContribute,
  'federation:init': FederationInit,
  'federation:join': FederationJoin,
  'federation:leave': FederationLeave,
  'federation:pull': FederationPull,
  'federation:status': FederationStatus,
  'federation:verify': FederationVerify,
  'learn:diff': LearnDiff,
  'learn:report': LearnReport,
  'learn:rollback': LearnRollback,
  'plugins:approve': PluginsApprove,
  'plugins:check': PluginsCheck,
  'plugins:info': PluginsInfo,
  'plugins:install': PluginsInstall,
  'plugins:ls': PluginsLs,
  'plugins:rm': PluginsRm,
  'plugins:update': PluginsUpdate,
  'plugins:verify': PluginsVerify,
  mcp: Mcp,
  'mcp:approve': McpApprove,
  rate: Rate,
  serve: Serve,
  'schemas:path': SchemasPath,
  'memory:forget': MemoryForget,
  'memory:import': MemoryImport,
  'memory:reindex': MemoryReindex,
  'memory:ls': MemoryLs,
  'memory:search': MemorySearch,
  'memory:show': MemoryShow,
  'memory:stop': MemoryStop,
  'session:ls': SessionLs,
  'session:rm': SessionRm,
  'session:show': SessionShow,
  'tools:check': ToolsCheck,
  'tools:ls': ToolsLs,
  'tools:run': ToolsRun,
  'tools:validate': ToolsValidate,
  'models:du': ModelsDu,
  'models:load': ModelsLoad,
  'models:ls': ModelsLs,
  'models:pull': ModelsPull,
  'models:unload': ModelsUnload,
  'models:verify': ModelsVerify,
  autocomplete: Autocomplete,
  'autocomplete:script': AutocompleteScript,
}
