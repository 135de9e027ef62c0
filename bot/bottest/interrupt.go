package bottest

import (
	"context"

	"kimibot/bot"
)

var _ bot.Interrupter = (*Platform)(nil)

// Interrupted is a recorded Interrupt call.
type Interrupted struct {
	Where  bot.ThreadRef
	Ref    bot.MsgRef
	Mode   bot.ReplyMode
	Notice string
}

// Interrupt records that the engine finished a reply a crash left.
func (p *Platform) Interrupt(_ context.Context, where bot.ThreadRef, ref bot.MsgRef, mode bot.ReplyMode, notice string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.interrupted = append(p.interrupted, Interrupted{Where: where, Ref: ref, Mode: mode, Notice: notice})
	p.notifyLocked()
	return nil
}

// Interrupts returns the recorded Interrupt calls.
func (p *Platform) Interrupts() []Interrupted {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Interrupted(nil), p.interrupted...)
}
