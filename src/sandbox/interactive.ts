// `npm start -- --interactive`: the terminal is the end user's chat window; the agent answers in the Demo Desk
// console (or in the external helpdesk). Lines before a hand-off go to a tiny canned bot; `/agent` escalates with
// the conversation so far as history; `/end` ends the hand-off (the plugin's termination command); Ctrl-C quits.
import { clearLine, createInterface, cursorTo, moveCursor } from 'node:readline'
import type { Output } from './output'
import type { Sandbox } from './stack'

const HELP = '/agent talk to a human agent · /end end the hand-off · /help this help · Ctrl-C quit'

/** Resolves when the user quits (Ctrl-C, Ctrl-D or /quit). */
export async function runInteractive(
  s: Sandbox,
  out: Output,
  opts: { vendor: string; input?: NodeJS.ReadableStream; output?: NodeJS.WritableStream & { isTTY?: boolean } },
): Promise<void> {
  const driver = s.driver!
  const input = opts.input ?? process.stdin
  const output = opts.output ?? process.stdout
  const tty = !!output.isTTY && !!(input as { isTTY?: boolean }).isTTY

  out.line()
  if (s.desk) {
    out.line(`Agent console: ${s.desk.url}/  (open it, pick an agent, then take, answer and solve the ticket)`)
  } else {
    out.line(`Agents answer in ${opts.vendor}; it must be able to reach the webhook relay at ${s.relay!.url}`)
  }
  out.line(HELP)
  out.line()
  await driver.botSays("Hi! I'm the demo bot. Tell me what's going on, and type /agent when you want a human.")

  // Created once everything is printed, with its listeners attached at once: lines typed (or piped) early are kept.
  const rl = createInterface({ input, output, prompt: 'you> ', terminal: tty })
  if (tty) {
    // Asynchronous lines (agent messages) are printed above the prompt, then the prompt and what was typed come back.
    out.setPromptHooks({
      before: () => {
        clearLine(output, 0)
        cursorTo(output, 0)
      },
      after: () => rl.prompt(true),
    })
  }

  let busy: Promise<void> = Promise.resolve()
  const handle = async (line: string) => {
    const text = line.trim()
    if (!text) return
    const command = text.toLowerCase()
    try {
      if (command === '/help') return out.line(HELP)
      if (command === '/quit' || command === '/exit') return void rl.close()
      if (command === '/agent') {
        if (driver.active) return out.line('(a human agent already has this conversation)')
        const firstUserLine = driver.transcript.find((l) => l.from === 'user')?.text
        const r = await driver.escalate({
          title: firstUserLine ? firstUserLine.slice(0, 80) : `Conversation with ${driver.endUserName}`,
          description: `Hand-off requested from the universal-hitl sandbox by ${driver.endUserName}.`,
        })
        out.say('event', `startHitl: ticket ${r.conversation.tags.id ?? '?'} opened with ${r.messageHistory.length} history messages; waiting for an agent`)
        return
      }
      if (command === '/end' && !driver.active) return out.line('(no hand-off in progress; /agent starts one)')
      await driver.userSays(text)
      if (!driver.active && command !== '/end') await driver.botSays("I'm only a demo bot. Type /agent to talk to a human agent.")
    } catch (e) {
      out.say('fail', (e as Error).message)
    }
  }

  return new Promise<void>((resolve) => {
    rl.on('line', (line) => {
      if (tty) {
        // Replace the typed line with its timestamped transcript line.
        moveCursor(output, 0, -1)
        clearLine(output, 0)
      }
      busy = busy.then(() => handle(line))
    })
    rl.on('SIGINT', () => rl.close())
    rl.on('close', () => {
      if (tty) output.write('\n')
      out.setPromptHooks(undefined)
      busy.then(() => resolve())
    })
    if (tty) rl.prompt()
  })
}
