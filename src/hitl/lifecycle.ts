import * as sdk from '@botpress/sdk'
import { verifyKeyTemplate } from '../webhook/signature'
import { adviceForConfiguration } from '../definition/configurationSize'
import { engineFor, forgetRegistration, getRegistration, withRuntimeErrors } from './engineFor'
import type { Props } from './types'

/**
 * Config save: a bad mapping or settings fails here with every `line:column` problem. Then the mapping's
 * register steps (e.g. create the webhook subscription); the values they return are kept for verify and
 * unregister. Saving the same configuration again does not register twice.
 */
export const register: Props['register'] = async ({ ctx, client, webhookUrl, logger }) =>
  withRuntimeErrors(async () => {
    // A mapping URL is fetched (and its pin checked) here, on save; later requests read what was kept.
    const engine = await engineFor(ctx, client, { withRegistration: false, webhookUrl, fetchMapping: true })
    const sizeAdvice = adviceForConfiguration(ctx.configuration)
    if (sizeAdvice) logger.forBot().warn(`register: ${sizeAdvice}`)
    // A secret that must come from the settings is checked before anything is created at the helpdesk.
    const key = verifyKeyTemplate(engine.mapping.webhook.verify)
    if (key && !key.source.includes('$registration')) {
      const missing = await engine.missingWebhookSecret()
      if (missing) throw new sdk.RuntimeError(missing)
    }
    // A bad token fails the save with the vendor's words, before anything is created at the helpdesk.
    await engine.checkCredentials()
    const previous = await getRegistration(client, ctx.integrationId)
    const hash = engine.configHash
    if (previous && previous.configHash === hash && previous.webhookUrl === webhookUrl) {
      logger.forBot().info('register: this configuration is already registered')
      return
    }
    if (previous && engine.mapping.operations.unregister) {
      await engine
        .withRegistration(previous.values)
        .unregister(webhookUrl)
        .catch((e) => logger.forBot().warn(`register: could not remove the previous webhook: ${(e as Error).message}`))
    }
    const values = await engine.register(webhookUrl)
    await client.setState({ type: 'integration', id: ctx.integrationId, name: 'registration', payload: { values, configHash: hash, webhookUrl } })
    forgetRegistration(ctx)
    const missing = await engine.withRegistration(values).missingWebhookSecret()
    if (missing) throw new sdk.RuntimeError(missing)
    if (engine.mapping.webhook.verify.scheme === 'none') {
      logger.forBot().warn('register: this mapping accepts unsigned webhooks (verify: none); anyone who knows the URL can post events')
    }
    logger
      .forBot()
      .info(
        `register: ${engine.mapping.file.vendor.name} mapping ready; requests go to ${(await engine.vendorHosts()).join(', ')} only; webhook URL ${webhookUrl}`,
      )
  })

export const unregister: Props['unregister'] = async ({ ctx, client, webhookUrl, logger }) =>
  withRuntimeErrors(async () => {
    // Always with the stored registration: unregister steps read it ($registration.webhookId) even when the
    // hand-off does not.
    const engine = await engineFor(ctx, client, { webhookUrl, withRegistration: true })
    await engine.unregister(webhookUrl)
    await client.setState({ type: 'integration', id: ctx.integrationId, name: 'registration', payload: null as never })
    forgetRegistration(ctx)
    logger.forBot().info('unregister: done')
  })
