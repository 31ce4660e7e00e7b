import * as sdk from '@botpress/sdk'
import { MAX_TAG_VALUE_LENGTH } from './runtimeApiLimits'

const { z } = sdk
const hidden = { ...sdk.WELL_KNOWN_ATTRIBUTES.HIDDEN_IN_STUDIO }
/** Every hitl channel message: the sdk default schema plus `userId` and (2.1.0) `additionalData`. */
const withUserId = <T extends sdk.z.ZodRawShape>(schema: sdk.z.ZodObject<T>) =>
  schema.extend({
    userId: z.string().optional().describe('Allows sending a message pretending to be a certain user'),
    additionalData: z
      .string()
      .max(MAX_TAG_VALUE_LENGTH)
      .optional()
      .describe('Additional data to attach to the message; corresponds to the max message tag size in the runtime API'),
  })

const d = sdk.messages.defaults
const historySource = z.union([z.object({ type: z.literal('user'), userId: z.string() }), z.object({ type: z.literal('bot') })])
const historyItem = z.union([
  ...(Object.entries({ ...d, markdown: sdk.messages.markdown }) as [string, { schema: sdk.z.AnyZodObject }][])
    .filter(([type]) => type !== 'bloc')
    .map(([type, m]) => z.object({ source: historySource, type: z.literal(type), payload: m.schema })),
  z.object({ source: historySource, type: z.literal('bloc'), payload: sdk.messages.markdownBloc.schema }),
] as unknown as [sdk.z.AnyZodObject, sdk.z.AnyZodObject, ...sdk.z.AnyZodObject[]])

/** A local copy of Botpress's public `hitl` interface v2.1.0 (name and version must stay the public ones). */
export const hitlInterface = new sdk.InterfaceDefinition({
  name: 'hitl',
  version: '2.1.0',
  entities: { hitlSession: { title: 'HITL session', schema: z.object({}) } },
  events: {
    hitlAssigned: { attributes: hidden, schema: () => z.object({ conversationId: z.string(), userId: z.string() }) },
    hitlStopped: { attributes: hidden, schema: () => z.object({ conversationId: z.string() }) },
  },
  actions: {
    createUser: {
      title: 'Create external user',
      attributes: hidden,
      input: { schema: () => z.object({ name: z.string(), pictureUrl: z.string().optional(), email: z.string().optional() }) },
      output: { schema: () => z.object({ userId: z.string() }) },
    },
    startHitl: {
      title: 'Start new HITL session',
      attributes: hidden,
      input: {
        schema: (e) =>
          z.object({
            userId: z.string(),
            title: z.string().optional(),
            description: z.string().optional(),
            hitlSession: e.hitlSession.optional(),
            messageHistory: z.array(historyItem),
          }),
      },
      output: { schema: () => z.object({ conversationId: z.string() }) },
    },
    stopHitl: {
      title: 'Stop HITL session',
      attributes: hidden,
      input: { schema: () => z.object({ conversationId: z.string() }) },
      output: { schema: () => z.object({}) },
    },
  },
  channels: {
    hitl: {
      messages: {
        text: { schema: () => withUserId(d.text.schema) },
        image: { schema: () => withUserId(d.image.schema) },
        audio: { schema: () => withUserId(d.audio.schema) },
        video: { schema: () => withUserId(d.video.schema) },
        file: { schema: () => withUserId(d.file.schema) },
        bloc: { schema: () => withUserId(sdk.messages.markdownBloc.schema) },
      },
    },
  },
  __advanced: { useLegacyZuiTransformer: true },
})

export const hitlPackage = { type: 'interface', name: 'hitl', version: '2.1.0', definition: hitlInterface } as const
