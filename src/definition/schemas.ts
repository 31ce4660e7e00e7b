import * as sdk from '@botpress/sdk'

const { z } = sdk

export const configurationSchema = z.object({
  mapping: z
    .string()
    .min(1)
    .title('Vendor mapping')
    .describe(
      'The name of a shipped mapping (e.g. chatwoot, zendesk, request-tracker), the https URL of a mapping file pinned by its hash (https://…/desk.yaml#sha256=<hex>), or a whole YAML vendor mapping (`npx universal-hitl pack` makes it compact).',
    )
    .placeholder('chatwoot')
    .displayAs({ id: 'text', params: { multiLine: true, growVertically: true } }),
  settings: z
    .string()
    .title('Settings')
    .describe('YAML values for the settings the mapping declares, one `name: value` per line.')
    .placeholder('accountId: 1\napiToken: ...')
    .secret()
    .displayAs({ id: 'text', params: { multiLine: true, growVertically: true } })
    .optional(),
})

/** The hitlSession entity: extras a bot may pass to startHitl; the mapping reads them as `hitlSession`. */
export const ticketSchema = z
  .object({
    priority: z.string().optional().describe('Priority as the helpdesk names it, e.g. high'),
    queue: z.string().optional().describe('Queue, inbox, group or team to route the ticket to'),
    tags: z.array(z.string()).optional(),
    fields: z.record(z.string()).optional().describe('Extra ticket fields, read by the mapping as hitlSession.fields'),
  })
  .passthrough()

export const registrationStateSchema = z.object({
  values: z.record(z.any()).describe("What the mapping's register steps returned ($registration)"),
  configHash: z.string(),
  webhookUrl: z.string(),
})

export const tokensStateSchema = z.object({
  tokens: z
    .record(z.object({ value: z.string(), expiresAt: z.number().optional() }))
    .describe("Access tokens (and rotated refresh tokens) the mapping's token auth obtained, shared by every worker"),
})

export const mappingFileStateSchema = z.object({
  url: z.string().describe('The mapping URL of the configuration, without its pin'),
  sha256: z.string().describe('The pin: SHA-256 of the text, hex'),
  text: z.string().describe('The mapping file fetched by register'),
})
export const deliveriesStateSchema = z.object({ seen: z.record(z.number()) })
