import * as sdk from '@botpress/sdk'
import { hitlPackage } from './src/definition/hitlInterface'
import {
  configurationSchema,
  deliveriesStateSchema,
  mappingFileStateSchema,
  registrationStateSchema,
  ticketSchema,
  tokensStateSchema,
} from './src/definition/schemas'

export default new sdk.IntegrationDefinition({
  name: 'universal-hitl',
  version: '0.1.0',
  title: 'Universal HITL',
  description: 'Hand conversations to human agents in any helpdesk, described by a YAML vendor mapping instead of code.',
  readme: 'hub.md',
  icon: 'icon.svg',
  configuration: { schema: configurationSchema },
  entities: { ticket: { title: 'Ticket', description: 'Extras for the helpdesk ticket', schema: ticketSchema } },
  user: {
    tags: {
      id: { title: 'Helpdesk user id', description: "The helpdesk's id of this end user or agent" },
      email: { title: 'Email', description: 'Email given to createUser' },
      role: { title: 'Role', description: '"agent" for helpdesk agents' },
      helpdesk: {
        title: 'Helpdesk account',
        description: 'Fingerprint of the helpdesk and account the id tag belongs to (vendor and base URL of the configuration)',
      },
    },
  },
  states: {
    registration: { type: 'integration', schema: registrationStateSchema },
    tokens: { type: 'integration', schema: tokensStateSchema },
    mappingFile: { type: 'integration', schema: mappingFileStateSchema },
    deliveries: { type: 'conversation', schema: deliveriesStateSchema },
  },
}).extend(hitlPackage, (self) => ({
  entities: { hitlSession: self.entities.ticket },
  channels: {
    hitl: {
      title: 'Helpdesk ticket',
      description: 'A hand-off session: one helpdesk ticket',
      conversation: {
        tags: {
          id: { title: 'Ticket id', description: "The helpdesk's ticket id" },
          ticket: { title: 'Ticket values', description: "The mapping's per-ticket values ($ticket), as JSON" },
        },
      },
      message: { tags: { id: { title: 'Helpdesk message id', description: "The helpdesk's id of this message" } } },
    },
  },
}))
