// The agent console: one self-contained HTML page (inline CSS and JS, no external assets) and the agents'
// avatar pictures. The page polls `GET /api/tickets` every second with the API token rendered into it —
// acceptable only because the desk listens on 127.0.0.1 and is a local demo. Agents attach files to replies
// (multipart); uploaded files need the token, so the page fetches them and shows them from blob: URLs.
import type { Agent } from './types'

const AVATAR_COLORS: Record<string, [string, string]> = {
  alice: ['#6d5dfc', '#efeaff'],
  bob: ['#e07b39', '#fff0e4'],
}

/** A small round SVG avatar with the agent's initial, served at `/avatars/<name>.svg`. */
export function avatarSvg(name: string): string | undefined {
  const colors = AVATAR_COLORS[name]
  if (!colors) return undefined
  const [fg, bg] = colors
  const initial = name[0].toUpperCase()
  return `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64"><circle cx="32" cy="32" r="32" fill="${bg}"/><circle cx="32" cy="25" r="11" fill="${fg}" opacity=".25"/><text x="32" y="41" font-family="Helvetica,Arial,sans-serif" font-size="28" font-weight="700" text-anchor="middle" fill="${fg}">${initial}</text></svg>`
}

/** JSON safe to put inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')
}

export const CONSOLE_CSP =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data: blob: http: https:; connect-src 'self'; base-uri 'none'; form-action 'none'"

export function renderConsole(opts: { apiToken: string; agents: Agent[]; pollMs?: number }): string {
  const config = { apiToken: opts.apiToken, agents: opts.agents, pollMs: opts.pollMs ?? 1000 }
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo Desk — agent console</title>
<style>
  :root {
    --bg: #f4f5f8; --card: #fff; --text: #1d2330; --muted: #6b7385; --line: #e3e6ee;
    --accent: #4f5bd5; --accent-ink: #fff; --ok: #1f9d63; --ok-bg: #e3f6ec; --info: #2f6fd6; --info-bg: #e6efff;
    --grey-bg: #eceef3; --danger: #c8373c; --bubble-contact: #f0f2f6; --bubble-agent: #e9ecff; --bubble-bot: #f3ecff;
  }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
         background: var(--bg); color: var(--text); }
  header { position: sticky; top: 0; z-index: 5; display: flex; align-items: center; gap: 16px; padding: 12px 24px;
           background: #1f2433; color: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.2); }
  header h1 { font-size: 17px; margin: 0; font-weight: 650; letter-spacing: .2px; }
  header h1 small { font-weight: 400; opacity: .65; margin-left: 6px; }
  header .spacer { flex: 1; }
  header label { font-size: 13px; opacity: .85; display: flex; gap: 8px; align-items: center; }
  header select { background: #2c3347; color: #fff; border: 1px solid #414a63; border-radius: 6px; padding: 4px 8px; font: inherit; }
  .live { display: flex; align-items: center; gap: 6px; font-size: 12px; opacity: .85; min-width: 130px; justify-content: flex-end; }
  .dot { width: 8px; height: 8px; border-radius: 50%; background: #7c8599; }
  .live.ok .dot { background: #3ddc84; } .live.err .dot { background: #ff6b6b; }
  main { max-width: 920px; margin: 24px auto; padding: 0 16px 48px; }
  .counts { color: var(--muted); margin: 0 0 14px; font-size: 13px; }
  .empty { background: var(--card); border: 1px dashed var(--line); border-radius: 12px; padding: 32px; text-align: center; color: var(--muted); }
  .empty code { background: var(--grey-bg); padding: 2px 6px; border-radius: 4px; color: var(--text); }
  .ticket { background: var(--card); border: 1px solid var(--line); border-radius: 12px; margin-bottom: 16px;
            box-shadow: 0 1px 2px rgba(20,25,40,.04); overflow: hidden; }
  .ticket.closed, .ticket.solved { opacity: .78; }
  .t-head { display: flex; gap: 12px; align-items: flex-start; padding: 14px 18px; border-bottom: 1px solid var(--line); }
  .t-title { flex: 1; min-width: 0; }
  .t-subject { font-size: 15.5px; font-weight: 620; margin: 0 0 2px; word-wrap: break-word; }
  .t-meta { color: var(--muted); font-size: 12.5px; }
  .t-meta b { color: var(--text); font-weight: 550; }
  .badge { display: inline-block; font-size: 11.5px; font-weight: 650; text-transform: uppercase; letter-spacing: .4px;
           padding: 2px 8px; border-radius: 999px; }
  .badge.open { background: var(--ok-bg); color: var(--ok); } .badge.solved { background: var(--info-bg); color: var(--info); }
  .badge.closed { background: var(--grey-bg); color: var(--muted); }
  .assignee { display: flex; align-items: center; gap: 6px; font-size: 12.5px; color: var(--muted); white-space: nowrap; }
  .avatar { width: 22px; height: 22px; border-radius: 50%; background: var(--grey-bg); flex: none; object-fit: cover; }
  .t-desc { padding: 10px 18px 8px; color: var(--muted); white-space: pre-wrap; border-bottom: 1px dashed var(--line); }
  .msgs { list-style: none; margin: 0; padding: 12px 18px; display: flex; flex-direction: column; gap: 8px;
          max-height: 340px; overflow-y: auto; }
  .msgs:empty::before { content: "No messages yet."; color: var(--muted); font-size: 13px; }
  .msg { max-width: 78%; align-self: flex-start; }
  .msg .who { font-size: 11.5px; color: var(--muted); margin: 0 4px 2px; display: flex; gap: 6px; align-items: center; }
  .msg .bubble { background: var(--bubble-contact); padding: 8px 12px; border-radius: 12px; white-space: pre-wrap; word-wrap: break-word; }
  .msg.agent { align-self: flex-end; } .msg.agent .who { justify-content: flex-end; }
  .msg.agent .bubble { background: var(--bubble-agent); }
  .msg.bot .bubble { background: var(--bubble-bot); }
  .msg.system { align-self: center; max-width: 90%; text-align: center; }
  .msg.system .bubble { background: transparent; color: var(--muted); font-style: italic; padding: 2px 8px; }
  .msg.history .bubble { border: 1px dashed #cfd4e0; }
  .tag { font-size: 10px; text-transform: uppercase; letter-spacing: .4px; background: var(--grey-bg); border-radius: 4px; padding: 0 5px; }
  .att { display: block; margin-top: 6px; font-size: 13px; color: var(--accent); }
  .att img { height: 120px; max-width: 240px; object-fit: cover; border-radius: 8px; display: block; background: var(--grey-bg); }
  .att .size { color: var(--muted); margin-left: 6px; font-size: 12px; }
  .att .kind { font-size: 10px; text-transform: uppercase; letter-spacing: .4px; border: 1px solid currentColor;
               border-radius: 4px; padding: 0 4px; margin-right: 6px; }
  .actions { display: grid; grid-template-columns: 1fr auto; gap: 10px; padding: 12px 18px 16px; border-top: 1px solid var(--line); background: #fafbfd; }
  .row { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
  .actions textarea { width: 100%; min-height: 40px; resize: vertical; font: inherit; padding: 8px 10px;
                      border: 1px solid var(--line); border-radius: 8px; background: #fff; }
  .actions textarea:focus, .actions select:focus { outline: 2px solid #c9cdf7; border-color: var(--accent); }
  .actions select { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
  button { font: inherit; font-weight: 560; border-radius: 8px; padding: 7px 14px; cursor: pointer; border: 1px solid var(--line);
           background: #fff; color: var(--text); }
  button:hover:not(:disabled) { border-color: #b9bfd0; }
  button:disabled { opacity: .55; cursor: default; }
  button.primary { background: var(--accent); color: var(--accent-ink); border-color: var(--accent); }
  button.solve { color: var(--info); border-color: #bcd0f5; }
  .send-col { display: flex; flex-direction: column; gap: 8px; justify-content: flex-end; }
  .error { color: var(--danger); font-size: 12.5px; grid-column: 1 / -1; }
  .error:empty { display: none; }
  .hint { color: var(--muted); font-size: 12px; }
  .attach { font-size: 12.5px; color: var(--muted); display: flex; gap: 6px; align-items: center; cursor: pointer; }
  .attach input { font-size: 12px; max-width: 230px; }
</style>
</head>
<body>
<header>
  <h1>Demo Desk <small>agent console</small></h1>
  <span class="spacer"></span>
  <label>Signed in as <select id="me" data-testid="agent-picker"></select></label>
  <span class="live" id="live" data-testid="poll-status"><span class="dot"></span><span id="live-text">connecting…</span></span>
</header>
<main>
  <p class="counts" id="counts" data-testid="counts"></p>
  <div id="tickets" data-testid="tickets"></div>
</main>
<script id="desk-config" type="application/json">${scriptJson(config)}</script>
<script>
(() => {
  'use strict'
  const CONFIG = JSON.parse(document.getElementById('desk-config').textContent)
  const AGENTS = new Map(CONFIG.agents.map((a) => [a.id, a]))
  const ME_KEY = 'demo-desk.me'
  const cards = new Map()
  let me = localStorage.getItem(ME_KEY)
  if (!AGENTS.has(me)) me = CONFIG.agents[0] && CONFIG.agents[0].id

  const h = (tag, attrs, ...children) => {
    const el = document.createElement(tag)
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue
      if (k === 'class') el.className = v
      else if (k === 'text') el.textContent = v
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
      else el.setAttribute(k, v === true ? '' : String(v))
    }
    for (const c of children) if (c !== null && c !== undefined) el.append(c)
    return el
  }
  const time = (iso) => new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
  const safeUrl = (u) => (/^(https?:|data:image\\/)/i.test(u) ? u : null)
  const size = (n) => (n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KB' : (n / 1048576).toFixed(1) + ' MB')

  // A FormData body (a reply with files) goes as multipart: the browser sets its boundary.
  async function api(method, path, body) {
    const form = body instanceof FormData
    const res = await fetch(path, {
      method,
      headers: { Authorization: 'Bearer ' + CONFIG.apiToken, ...(body && !form ? { 'Content-Type': 'application/json' } : {}) },
      body: form ? body : body ? JSON.stringify(body) : undefined,
    })
    const data = res.status === 204 ? null : await res.json().catch(() => null)
    if (!res.ok) throw new Error((data && data.error && data.error.message) || 'HTTP ' + res.status)
    return data
  }

  // Uploaded files need the token: fetched once each, shown from a blob: URL.
  const blobs = new Map()
  function fileBlob(att) {
    if (!blobs.has(att.fileId)) {
      const p = fetch(att.url, { headers: { Authorization: 'Bearer ' + CONFIG.apiToken } }).then((r) => {
        if (!r.ok) throw new Error('HTTP ' + r.status)
        return r.blob()
      }).then((b) => URL.createObjectURL(b))
      p.catch(() => blobs.delete(att.fileId))
      blobs.set(att.fileId, p)
    }
    return blobs.get(att.fileId)
  }
  function uploadedFile(att) {
    const label = [h('span', { class: 'kind', text: att.kind }), att.title, h('span', { class: 'size', text: size(att.size) })]
    const link = h('a', { class: 'att', href: '#', 'data-testid': 'file', 'data-file-id': att.fileId }, ...label)
    link.addEventListener('click', (e) => {
      e.preventDefault()
      fileBlob(att).then((u) => {
        const a = h('a', { href: u, download: att.title })
        document.body.append(a)
        a.click()
        a.remove()
      })
    })
    if (att.kind === 'image') {
      const img = h('img', { alt: att.title })
      fileBlob(att).then((u) => { img.src = u }, () => { img.alt = att.title + ' (could not be loaded)' })
      link.prepend(img)
    }
    return link
  }

  // ----- header: who am I -----
  const meSelect = document.getElementById('me')
  for (const a of CONFIG.agents) meSelect.append(h('option', { value: a.id, text: a.name }))
  meSelect.value = me
  meSelect.addEventListener('change', () => {
    me = meSelect.value
    localStorage.setItem(ME_KEY, me)
    for (const card of cards.values()) {
      if (card.pickerTouched) continue
      card.picker.value = card.ticket.assigneeId || me
      updateButtons(card)
    }
  })

  // ----- one card per ticket, updated in place so typing is never lost -----
  function agentBadge(agentId) {
    const a = AGENTS.get(agentId)
    if (!a) return h('span', { text: 'Unassigned' })
    return h('span', { class: 'assignee' }, h('img', { class: 'avatar', src: safeUrl(a.avatarUrl), alt: '' }), a.name)
  }

  function createCard(t) {
    const id = t.id
    const card = { id, pickerTouched: false, msgKey: '', headKey: '', busy: false }
    card.subject = h('h2', { class: 't-subject', 'data-testid': 'subject-' + id })
    card.meta = h('div', { class: 't-meta' })
    card.badge = h('span', { class: 'badge', 'data-testid': 'status-' + id })
    card.assignee = h('div', { class: 'assignee', 'data-testid': 'assignee-' + id })
    card.desc = h('div', { class: 't-desc' })
    card.msgs = h('ol', { class: 'msgs', 'data-testid': 'messages-' + id, 'aria-label': 'Conversation' })
    card.picker = h('select', { 'data-testid': 'agent-select-' + id, 'aria-label': 'Act as agent',
      onchange: () => { card.pickerTouched = true; updateButtons(card) } })
    for (const a of CONFIG.agents) card.picker.append(h('option', { value: a.id, text: a.name }))
    card.picker.value = t.assigneeId || me
    card.assignBtn = h('button', { class: 'primary', 'data-testid': 'assign-' + id, onclick: () => act(card, 'assign') }, 'Assign to me')
    card.solveBtn = h('button', { class: 'solve', 'data-testid': 'solve-' + id, onclick: () => act(card, 'solve') }, 'Solve')
    card.input = h('textarea', { 'data-testid': 'reply-input-' + id, placeholder: 'Write a reply… (Enter to send, Shift+Enter for a new line)',
      rows: 2, 'aria-label': 'Reply' })
    card.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); act(card, 'reply') }
    })
    card.sendBtn = h('button', { class: 'primary', 'data-testid': 'reply-send-' + id, onclick: () => act(card, 'reply') }, 'Send')
    card.files = h('input', { type: 'file', multiple: true, 'data-testid': 'reply-files-' + id, 'aria-label': 'Attach files' })
    card.error = h('div', { class: 'error', role: 'alert', 'data-testid': 'error-' + id })
    card.actions = h('div', { class: 'actions', 'data-testid': 'actions-' + id },
      h('div', { class: 'row' }, h('span', { class: 'hint', text: 'Act as' }), card.picker, card.assignBtn, card.solveBtn),
      h('span'),
      card.input,
      h('div', { class: 'send-col' }, card.sendBtn),
      h('label', { class: 'attach' }, 'Attach', card.files),
      card.error)
    card.el = h('article', { class: 'ticket', 'data-testid': 'ticket-' + id, 'data-ticket-id': id },
      h('div', { class: 't-head' },
        h('div', { class: 't-title' }, card.subject, card.meta),
        h('div', { class: 'row' }, card.assignee, card.badge)),
      card.desc, card.msgs, card.actions)
    cards.set(id, card)
    return card
  }

  function updateButtons(card) {
    const t = card.ticket
    const actor = card.picker.value
    const actorName = (AGENTS.get(actor) || {}).name || actor
    const mine = t.assigneeId === actor
    card.assignBtn.textContent = mine ? 'Assigned' : actor === me ? 'Assign to me' : 'Assign to ' + actorName.split(' ')[0]
    card.assignBtn.disabled = card.busy || mine
    card.solveBtn.disabled = card.busy
    card.sendBtn.disabled = card.busy
  }

  function renderMessage(m) {
    const who = h('div', { class: 'who' })
    if (m.authorType === 'agent') {
      const a = AGENTS.get(m.authorId)
      if (a) who.append(h('img', { class: 'avatar', src: safeUrl(a.avatarUrl), alt: '', style: 'width:16px;height:16px' }))
    }
    who.append(h('b', { text: m.authorName }), ' · ' + time(m.createdAt))
    if (m.history) who.append(h('span', { class: 'tag', text: 'history' }))
    const bubble = h('div', { class: 'bubble' })
    if (m.text) bubble.append(m.text)
    for (const att of m.attachments || []) {
      if (att.fileId) { bubble.append(uploadedFile(att)); continue }
      const url = safeUrl(att.url)
      const label = att.title || att.url
      if (att.kind === 'image' && url) {
        const img = h('img', { src: url, alt: label })
        bubble.append(h('a', { class: 'att', href: url, target: '_blank', rel: 'noopener' }, img))
      } else {
        bubble.append(h('a', { class: 'att', href: url || '#', target: '_blank', rel: 'noopener' },
          h('span', { class: 'kind', text: att.kind }), label))
      }
    }
    return h('li', { class: 'msg ' + m.authorType + (m.history ? ' history' : ''), 'data-testid': 'message',
      'data-message-id': m.id, 'data-author-type': m.authorType }, who, bubble)
  }

  function updateCard(card, t) {
    card.ticket = t
    card.el.className = 'ticket ' + t.status
    card.el.dataset.status = t.status
    const headKey = [t.subject, t.status, t.assigneeId, t.description, t.contact && t.contact.name].join('|')
    if (headKey !== card.headKey) {
      card.headKey = headKey
      card.subject.textContent = t.subject
      card.meta.replaceChildren('#' + t.id + ' · from ', h('b', { text: t.contact ? t.contact.name : t.contactId }),
        t.contact && t.contact.email ? ' <' + t.contact.email + '>' : '', ' · opened ' + time(t.createdAt))
      card.badge.className = 'badge ' + t.status
      card.badge.textContent = t.status
      card.assignee.replaceChildren(agentBadge(t.assigneeId))
      card.desc.textContent = t.description || ''
      card.desc.hidden = !t.description
      card.actions.hidden = t.status !== 'open'
      if (t.assigneeId && !card.pickerTouched) card.picker.value = t.assigneeId
    }
    const msgKey = t.messages.length + ':' + (t.messages.length ? t.messages[t.messages.length - 1].id : '')
    if (msgKey !== card.msgKey) {
      const atBottom = card.msgs.scrollHeight - card.msgs.scrollTop - card.msgs.clientHeight < 40
      card.msgKey = msgKey
      card.msgs.replaceChildren(...t.messages.map(renderMessage))
      // Follow the conversation unless the agent scrolled up to read; scrolled once the card is in the page.
      card.stick = atBottom || !card.scrolled
      card.scrolled = true
    }
    updateButtons(card)
  }

  async function act(card, action) {
    if (card.busy) return
    const agentId = card.picker.value
    const id = card.id
    let body = { agentId }
    if (action === 'reply') {
      const text = card.input.value.trim()
      const files = [...card.files.files]
      if (!text && !files.length) { card.input.focus(); return }
      body = { agentId, text }
      if (files.length) {
        body = new FormData()
        body.append('agentId', agentId)
        body.append('text', text)
        for (const f of files) body.append('files', f, f.name)
      }
    }
    card.busy = true
    card.error.textContent = ''
    updateButtons(card)
    try {
      await api('POST', '/api/tickets/' + encodeURIComponent(id) + '/' + action, body)
      if (action === 'reply') { card.input.value = ''; card.files.value = '' }
    } catch (e) {
      card.error.textContent = 'Could not ' + action + ': ' + e.message
    } finally {
      card.busy = false
      updateButtons(card)
      refresh()
    }
  }

  // ----- polling -----
  const list = document.getElementById('tickets')
  const live = document.getElementById('live')
  const liveText = document.getElementById('live-text')
  const counts = document.getElementById('counts')
  const rank = { open: 0, solved: 1, closed: 2 }
  let inFlight = null

  function render(tickets) {
    tickets.sort((a, b) => rank[a.status] - rank[b.status] || (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
    const order = tickets.map((t) => (cards.get(t.id) || createCard(t)).el)
    tickets.forEach((t) => updateCard(cards.get(t.id), t))
    for (const [id, card] of cards) if (!tickets.some((t) => t.id === id)) { card.el.remove(); cards.delete(id) }
    const current = [...list.children]
    if (!tickets.length) {
      if (!list.querySelector('.empty')) list.replaceChildren(emptyState())
    } else if (order.length !== current.length || order.some((el, i) => el !== current[i])) {
      // Moving elements drops focus: put it (and the caret) back where the agent was typing.
      const focused = document.activeElement
      const sel = focused && 'selectionStart' in focused ? [focused.selectionStart, focused.selectionEnd] : null
      list.replaceChildren(...order)
      if (focused && focused !== document.body && list.contains(focused)) {
        focused.focus()
        if (sel) focused.setSelectionRange(sel[0], sel[1])
      }
    }
    for (const card of cards.values()) {
      if (card.stick) { card.msgs.scrollTop = card.msgs.scrollHeight; card.stick = false }
    }
    const n = (s) => tickets.filter((t) => t.status === s).length
    counts.textContent = tickets.length ? n('open') + ' open · ' + n('solved') + ' solved · ' + n('closed') + ' closed' : ''
  }

  function emptyState() {
    return h('div', { class: 'empty', 'data-testid': 'empty' },
      h('p', { text: 'No tickets yet.' }),
      h('p', {}, 'Start a hand-off from the bot, or create one with ', h('code', { text: 'POST /api/tickets' }), '.'))
  }

  function refresh() {
    if (inFlight) return inFlight
    inFlight = api('GET', '/api/tickets')
      .then((data) => {
        render(data.tickets)
        live.className = 'live ok'
        liveText.textContent = 'live · ' + new Date().toLocaleTimeString()
      })
      .catch((e) => {
        live.className = 'live err'
        liveText.textContent = 'offline: ' + e.message
      })
      .finally(() => { inFlight = null })
    return inFlight
  }

  refresh()
  setInterval(refresh, CONFIG.pollMs)
})()
</script>
</body>
</html>
`
}
