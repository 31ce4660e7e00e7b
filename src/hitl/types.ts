import type * as sdk from '@botpress/sdk'
import type {
  configurationSchema,
  deliveriesStateSchema,
  mappingFileStateSchema,
  registrationStateSchema,
  ticketSchema,
  tokensStateSchema,
} from '../definition/schemas'

type Infer<S extends sdk.z.ZodTypeAny> = sdk.z.infer<S>
type Tags<K extends string> = Record<K, { title?: string; description?: string }>
type WithUserId<P> = P & { userId?: string; additionalData?: string }
type Media<K extends string> = WithUserId<Record<K, string> & { title?: string }>

export type HistoryItem = { source: { type: 'user'; userId: string } | { type: 'bot' }; type: string; payload: Record<string, unknown> }

/** The integration's types, written by hand (no `bp gen`): see the contract reference, section 6.2. */
export type TIntegration = sdk.DefaultIntegration<{
  name: 'universal-hitl'
  version: '0.1.0'
  configuration: Infer<typeof configurationSchema>
  actions: {
    createUser: { input: { name: string; pictureUrl?: string; email?: string }; output: { userId: string } }
    startHitl: {
      input: { userId: string; title?: string; description?: string; hitlSession?: Infer<typeof ticketSchema>; messageHistory: HistoryItem[] }
      output: { conversationId: string }
    }
    // biome-ignore lint/complexity/noBannedTypes: the SDK types an action's empty output object as {}
    stopHitl: { input: { conversationId: string }; output: {} }
  }
  channels: {
    hitl: {
      messages: {
        text: WithUserId<{ text: string }>
        image: Media<'imageUrl'>
        audio: Media<'audioUrl'>
        video: Media<'videoUrl'>
        file: Media<'fileUrl'>
        bloc: WithUserId<{ items: { type: string; payload: Record<string, unknown> }[] }>
      }
      message: { tags: Tags<'id'> }
      conversation: { tags: Tags<'id' | 'ticket'> }
    }
  }
  events: { hitlAssigned: { conversationId: string; userId: string }; hitlStopped: { conversationId: string } }
  states: {
    registration: { type: 'integration'; payload: Infer<typeof registrationStateSchema> }
    tokens: { type: 'integration'; payload: Infer<typeof tokensStateSchema> }
    mappingFile: { type: 'integration'; payload: Infer<typeof mappingFileStateSchema> }
    deliveries: { type: 'conversation'; payload: Infer<typeof deliveriesStateSchema> }
  }
  user: { tags: Tags<'id' | 'email' | 'role' | 'helpdesk'> }
  entities: { ticket: Infer<typeof ticketSchema> }
}>

export type Props = sdk.IntegrationProps<TIntegration>
export type Client = sdk.IntegrationSpecificClient<TIntegration>
export type Logger = sdk.IntegrationLogger
export type Ctx = Parameters<Props['register']>[0]['ctx']
