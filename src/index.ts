import * as sdk from '@botpress/sdk'
import { createUser, startHitl, stopHitl } from './hitl/actions'
import { hitlChannel } from './hitl/channel'
import { register, unregister } from './hitl/lifecycle'
import type { TIntegration } from './hitl/types'
import { handleWebhook } from './hitl/webhook'

// Thin glue: every handler adapts Botpress calls to the engine (src/engine) and back.
export default new sdk.Integration<TIntegration>({
  register,
  unregister,
  actions: { createUser, startHitl, stopHitl },
  channels: { hitl: hitlChannel },
  handler: handleWebhook,
})
