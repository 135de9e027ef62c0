// Package chattext shapes answer text for chat platforms, whatever the
// platform: it cuts long Markdown into messages, counts length the way a
// platform checks its limits, and renders the footer under an answer.
//
// A Style holds everything that differs between platforms: the message
// limit, how length is counted, which characters make code fences and how
// small print is marked. Slack and Discord are the presets the adapters
// use; each adapter keeps only its native rendering (Block Kit, embeds).
//
// Splitting works at paragraph, then line, then word boundaries and never
// inside a code fence, unless one fenced block is longer than a message:
// the fence is then closed at the end of one message and reopened, with
// its info string, at the start of the next. Splitting is stable under
// growth: the finished messages of a prefix of a text are the first
// messages of the whole text, so a reply that streams can send a message
// for good as soon as its end is known.
package chattext
