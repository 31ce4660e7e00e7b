/** Text renderings of Botpress message payloads, for vendors (and history) that only take text. */
type Payload = Record<string, unknown>

const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v))

export function renderMessageText(type: string, payload: Payload | undefined): string {
  const p = payload ?? {}
  const titled = (label: string, url: unknown) => `[${label}]${p.title ? ` ${str(p.title)}:` : ''} ${str(url)}`.trim()
  switch (type) {
    case 'text':
      return str(p.text)
    case 'markdown':
      return str(p.markdown)
    case 'image':
      return titled('image', p.imageUrl)
    case 'audio':
      return titled('audio', p.audioUrl)
    case 'video':
      return titled('video', p.videoUrl)
    case 'file':
      return titled('file', p.fileUrl)
    case 'location':
      return `[location] ${[p.title, p.address].filter(Boolean).map(str).join(', ')} (${str(p.latitude)}, ${str(p.longitude)})`.replace(
        '[location]  (',
        '[location] (',
      )
    case 'card':
      return [str(p.title), str(p.subtitle), ...((p.actions as Payload[] | undefined) ?? []).map((a) => `- ${str(a.label)}`)].filter(Boolean).join('\n')
    case 'carousel':
      return ((p.items as Payload[] | undefined) ?? []).map((c) => renderMessageText('card', c)).join('\n\n')
    case 'choice':
    case 'dropdown':
      return [str(p.text), ...((p.options as Payload[] | undefined) ?? []).map((o) => `- ${str(o.label)}`)].filter(Boolean).join('\n')
    case 'bloc':
      return ((p.items as { type: string; payload: Payload }[] | undefined) ?? []).map((i) => renderMessageText(i.type, i.payload)).join('\n')
    default:
      return `[${type}] ${JSON.stringify(p)}`
  }
}

/** Where each Botpress media message type keeps its URL. */
export const MEDIA_URL_KEYS = { image: 'imageUrl', audio: 'audioUrl', video: 'videoUrl', file: 'fileUrl' } as const

/** The URL of a media payload, if any. */
export function mediaUrl(type: string, payload: Payload | undefined): string | undefined {
  const key = MEDIA_URL_KEYS[type as keyof typeof MEDIA_URL_KEYS]
  const v = key ? payload?.[key] : undefined
  return typeof v === 'string' ? v : undefined
}

/** A file of the message, for `files` steps: its Botpress URL and a name (the title with the URL's extension, else the URL's last part). */
export type MessageFileRef = { url: string; name: string }

/** The files a message carries: its media, or every media item of a bloc. */
export function messageFiles(type: string, payload: Payload | undefined): MessageFileRef[] {
  if (type === 'bloc') return ((payload?.items as { type: string; payload: Payload }[] | undefined) ?? []).flatMap((i) => messageFiles(i.type, i.payload))
  const url = mediaUrl(type, payload)
  if (!url) return []
  const title = typeof payload?.title === 'string' && payload.title ? payload.title : undefined
  let last = ''
  try {
    last = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '')
  } catch {
    // not a URL: the download says so
  }
  return [{ url, name: title ? withExtensionOf(title, last) : last || type }]
}

/** A title names the file for the agent, but helpdesks (and agents' computers) go by its extension: keep the URL's. */
function withExtensionOf(title: string, fileName: string): string {
  const ext = /\.[A-Za-z0-9]{1,8}$/.exec(fileName)?.[0]
  return ext && !title.toLowerCase().endsWith(ext.toLowerCase()) ? `${title}${ext}` : title
}

export type HistoryItem = { source: 'user' | 'bot'; author: string; type: string; text: string; payload: Payload }

/** History items as the mapping sees them, and the plain-text transcript of them. */
export function renderHistory(
  history: { source: { type: string; userId?: string } | string; type: string; payload: Payload }[],
  names: { user: string; bot: string },
): { items: HistoryItem[]; transcript: string } {
  // `source` is `{type}` from Botpress; a plain "user"/"bot" (as fixtures may write it) means the same.
  const isUser = (h: (typeof history)[number]) => (typeof h.source === 'string' ? h.source : h.source?.type) === 'user'
  const items = history.map((h) => ({
    source: isUser(h) ? ('user' as const) : ('bot' as const),
    author: isUser(h) ? names.user : names.bot,
    type: h.type,
    text: renderMessageText(h.type, h.payload),
    payload: h.payload ?? {},
  }))
  const transcript = items.map((i) => `${i.author}: ${i.text}`).join('\n')
  return { items, transcript }
}
