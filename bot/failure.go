package bot

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"strings"
)

// Sentinel errors of a turn that users see explained.
var (
	errTooManySteps = errors.New("tool step limit reached")
	errRepeatedCall = errors.New("model repeated an identical tool call")
	errNoPlatform   = errors.New("unknown platform")
	errRestarting   = errors.New("answer interrupted by a shutdown")
)

// newRef returns a short reference ID that ties a user-visible error to its log line.
func newRef() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// userMessage turns err into a short text safe to show users.
func userMessage(err error) string {
	var ue UserError
	switch {
	case errors.As(err, &ue):
		return ue.UserMessage()
	case errors.Is(err, errTooManySteps):
		return "I stopped after too many tool steps without reaching an answer."
	case errors.Is(err, errRestarting):
		return "The bot is restarting and this answer was interrupted; I will answer again once it is back."
	case errors.Is(err, errRepeatedCall):
		return "I stopped because the model kept repeating the same tool call."
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "The answer was interrupted (the bot is restarting or timed out). Please ask again."
	}
	return "Something went wrong on our side."
}

// reportFailure logs err once with a reference ID and shows the user a short
// message carrying the same ID. r may be nil when no reply was opened yet.
func (e *Engine) reportFailure(ctx context.Context, p Platform, ev Event, r Reply, err error) {
	ref := newRef()
	log := e.logger(ctx)
	if log == e.log {
		log = log.With("thread", ev.Thread.Key())
	}
	log.Error("turn failed", "ref", ref, "err", err)
	msg := userMessage(err) + " (ref " + ref + ")"
	ctx, cancel := detached(ctx)
	defer cancel()
	if r == nil {
		var oerr error
		r, oerr = p.Reply(ctx, ReplyTarget{Thread: ev.Thread, User: ev.User.ID, Message: ev.Message})
		if oerr != nil {
			log.Error("open reply for failure", "ref", ref, "err", oerr)
			return
		}
	}
	if ferr := r.Fail(ctx, msg); ferr != nil {
		log.Error("show failure", "ref", ref, "err", ferr)
	}
}
