// `fixtures.files`: operation fixtures of `files` steps run offline. The fixture runner serves the listed
// Botpress file URLs in Botpress's place and records multipart bodies part by part, so a mapping's fixtures can
// state the exact upload a vendor receives; unlisted files answer 404 (the link fallback).
import { describe, expect, it } from 'vitest'
import { runFixtures } from '../../src/fixtures/runFixtures'
import { mappingObject, problemsOf, yamlOf } from './helpers'

const RECEIPT = 'https://files.bpcontent.cloud/2026/12/02/bot/receipt.png'
const LABEL = 'https://files.bpcontent.cloud/2026/12/02/bot/label.pdf'
const PDF_BASE64 = Buffer.from('%PDF-1.4\n%test\n').toString('base64')

const operations = {
  sendMessage: {
    text: { steps: [{ id: 'post', request: { method: 'POST', path: '/tickets/{{ ticketId }}/messages', body: '{"text": text}' } }] },
    image: {
      steps: [
        {
          id: 'upload',
          request: {
            method: 'POST',
            path: '/tickets/{{ ticketId }}/messages',
            body: '{"text": text, "meta": {"from": "bot"}}',
            files: { as: 'multipart', field: 'attachments[]' },
          },
        },
      ],
    },
    file: {
      steps: [
        {
          id: 'upload',
          request: {
            method: 'POST',
            path: '/tickets/{{ ticketId }}/messages',
            body: '{"attachments": [$files.{"name": name, "type": contentType, "data": base64}]}',
            files: { as: 'base64' },
          },
        },
      ],
    },
  },
}

const files = {
  [RECEIPT]: { contentType: 'image/png', text: 'fake png bytes' },
  [LABEL]: { contentType: 'application/pdf', base64: PDF_BASE64 },
}

const imageCase = (body: unknown, url = RECEIPT) => ({
  name: 'image upload',
  operation: 'sendMessage',
  input: { ticketId: '12', type: 'image', payload: { imageUrl: url }, userId: 'u1' },
  expect: { requests: [{ method: 'POST', path: '/api/tickets/12/messages', body }] },
})

const run = (cases: unknown[]) =>
  runFixtures(
    yamlOf(mappingObject({ operations, fixtures: { settings: { baseUrl: 'https://desk.example', apiToken: 't' }, files, operations: cases } })),
    'm.yaml',
  )

describe('fixtures.files', () => {
  it('a multipart upload is compared part by part: text parts by their text, file parts by name, type and size', async () => {
    const [result] = await run([
      imageCase({ text: `[image] ${RECEIPT}`, meta: '{"from":"bot"}', 'attachments[]': { filename: 'receipt.png', contentType: 'image/png', size: 14 } }),
    ])
    expect(result!.problems).toEqual([])
    // Only the helpdesk request is recorded: the download went to the fixture's file, not to the helpdesk.
    expect(result!.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /api/tickets/12/messages'])
  })

  it('a wrong size or name in the expected part is a problem naming the actual part', async () => {
    const [result] = await run([
      imageCase({ text: `[image] ${RECEIPT}`, meta: '{"from":"bot"}', 'attachments[]': { filename: 'receipt.png', contentType: 'image/png', size: 15 } }),
    ])
    expect(result!.ok).toBe(false)
    expect(result!.problems.join('\n')).toContain('"size":14')
  })

  it('base64 content is served as bytes, so the body carries the file base64-encoded', async () => {
    const [result] = await run([
      {
        name: 'file as base64',
        operation: 'sendMessage',
        input: { ticketId: '12', type: 'file', payload: { fileUrl: LABEL, title: 'label.pdf' }, userId: 'u1' },
        expect: {
          requests: [
            { method: 'POST', path: '/api/tickets/12/messages', body: { attachments: [{ name: 'label.pdf', type: 'application/pdf', data: PDF_BASE64 }] } },
          ],
        },
      },
    ])
    expect(result!.problems).toEqual([])
  })

  it('a Botpress file URL not listed answers 404: the message goes as its link, with the note', async () => {
    const missing = 'https://files.bpcontent.cloud/2026/12/02/bot/gone.png'
    const [result] = await run([imageCase(undefined, missing)])
    expect(result!.problems).toEqual([])
    const sent = result!.requests[0]!.body as { text: string }
    expect(sent.text).toContain(missing)
    expect(sent.text).toContain('downloading it from Botpress answered 404')
  })

  it('a file with neither text nor base64 is a positioned problem at the file, naming both', () => {
    const text = yamlOf(mappingObject({ operations, fixtures: { files: { [RECEIPT]: { contentType: 'image/png' } } } }))
    const problems = problemsOf(text)
    // The entry's value starts on the line after its URL key.
    const line = text.split('\n').findIndex((l) => l.includes(RECEIPT)) + 2
    expect(problems.map((p) => [p.line, p.message])).toEqual([
      [line, 'missing required field "text"'],
      [line, 'missing required field "base64"'],
    ])
  })
})
