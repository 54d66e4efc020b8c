// oclif's explicit command strategy: no directory scan at start-up.
import ChainLs from './chain/ls.js'
import ChainRun from './chain/run.js'
import ChainShow from './chain/show.js'
import ChainValidate from './chain/validate.js'
import Doctor from './doctor.js'
import ModelsDu from './models/du.js'
import ModelsLoad from './models/load.js'
import ModelsLs from './models/ls.js'
import ModelsUnload from './models/unload.js'

export const commands = {
  'chain:ls': ChainLs,
  'chain:run': ChainRun,
  'chain:show': ChainShow,
  'chain:validate': ChainValidate,
  doctor: Doctor,
  'models:du': ModelsDu,
  'models:load': ModelsLoad,
  'models:ls': ModelsLs,
  'models:unload': ModelsUnload,
}
