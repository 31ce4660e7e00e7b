import { transforms } from '@bpinternal/zui'
import { describe, expect, it } from 'vitest'
import definition from '../integration.definition'

/** The JSON Schema keywords these tests read of a zui schema (transforms.toJSONSchema). */
type JsonSchema = { type?: string; required?: string[]; properties: Record<string, JsonSchema & { 'x-zui'?: unknown }>; [keyword: string]: unknown }
const jsonSchemaOf = (schema: unknown) => transforms.toJSONSchema(schema as never) as unknown as JsonSchema

// What `bp deploy` reads: the definition must default-export an IntegrationDefinition that extends the public
// `hitl` interface (2.1.0) with our ticket entity, and a configuration the Studio renders as two text areas.
describe('integration.definition.ts', () => {
  it('names the integration and points at the hub page and icon', () => {
    expect(definition).toMatchObject({ name: 'universal-hitl', title: 'Universal HITL', readme: 'hub.md', icon: 'icon.svg' })
    expect(definition.version).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('extends hitl@2.1.0 with hitlSession mapped to the ticket entity', () => {
    const iface = (definition.interfaces as Record<string, { name: string; version: string; entities: Record<string, { name: string }> }>)['hitl<ticket>']
    expect(iface).toMatchObject({ name: 'hitl', version: '2.1.0', entities: { hitlSession: { name: 'ticket' } } })
    expect(Object.keys(definition.actions ?? {}).sort()).toEqual(['createUser', 'startHitl', 'stopHitl'])
    expect(Object.keys(definition.events ?? {}).sort()).toEqual(['hitlAssigned', 'hitlStopped'])
  })

  it('has the hitl channel with every message type, the id tags and the per-ticket values tag', () => {
    const hitl = definition.channels!.hitl!
    expect(Object.keys(hitl.messages).sort()).toEqual(['audio', 'bloc', 'file', 'image', 'text', 'video'])
    expect(Object.keys(hitl.conversation?.tags ?? {})).toEqual(['id', 'ticket'])
    expect(Object.keys(hitl.message?.tags ?? {})).toEqual(['id'])
    expect(Object.keys(definition.user?.tags ?? {}).sort()).toEqual(['email', 'helpdesk', 'id', 'role'])
  })

  it('hitl 2.1.0: every channel message may carry additionalData of at most 500 characters', () => {
    for (const [type, message] of Object.entries(definition.channels!.hitl!.messages)) {
      const schema = jsonSchemaOf(message.schema)
      expect(schema.properties.additionalData, type).toMatchObject({ type: 'string', maxLength: 500 })
      expect(schema.required ?? [], type).not.toContain('additionalData')
    }
  })

  it('configuration: a multi-line mapping, and secret multi-line settings', () => {
    const schema = jsonSchemaOf(definition.configuration!.schema)
    expect(schema.required).toEqual(['mapping'])
    expect(schema.properties.mapping['x-zui']).toMatchObject({ displayAs: ['text', { multiLine: true, growVertically: true }] })
    const settings = schema.properties.settings
    expect(JSON.stringify(settings)).toContain('"secret":true')
    expect(JSON.stringify(settings)).toContain('"multiLine":true')
  })

  it('startHitl takes the ticket entity as hitlSession', () => {
    const input = jsonSchemaOf(definition.actions!.startHitl!.input.schema)
    expect(input.required).toEqual(expect.arrayContaining(['userId', 'messageHistory']))
    expect(JSON.stringify(input.properties.hitlSession)).toContain('priority')
  })
})
