package slack

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"kimibot/bot"
	"kimibot/internal/chattext"
)

// holdback is how much of a streamed message's room is kept back while
// the answer is still coming: text appended to a stream cannot be taken
// back, so the end of a message waits until the cut is known.
const holdback = 2_000

// maxStatus caps a status line.
const maxStatus = 150

// errFinished is returned by calls on a reply after Finish or Fail.
var errFinished = errors.New("slack reply: already finished")

// Reply opens an answer in the thread of to. It returns at once: the
// answer's messages are posted, streamed and paced by a goroutine of the
// reply, which sends the latest text whenever Slack's limits allow.
func (a *Adapter) Reply(ctx context.Context, to bot.ReplyTarget) (bot.Reply, error) {
	if to.Thread.Channel == "" {
		return nil, errors.New("slack reply: no channel")
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	ch := a.pacing.channel(to.Thread.Channel)
	noStream, noStatus := ch.flags()
	r := &reply{
		a: a, to: to, ctx: wctx, cancel: cancel,
		ws: a.pacing.workspace(to.Thread.Workspace), ch: ch,
		log:   a.log.With("channel", to.Thread.Channel, "thread", to.Thread.Thread),
		wake:  make(chan struct{}, 1),
		ended: make(chan struct{}),
		done:  make(chan struct{}),
		// Something shows at once: the status until the first text.
		status:      "thinking…",
		native:      a.cfg.NativeStreaming && !noStream && canStream(to),
		statusInMsg: to.Thread.Thread == "" || noStatus,
	}
	go r.run()
	return r, nil
}

// opened tells the engine, when it asked, about a new message of the reply.
func (r *reply) opened(ts string, mode bot.ReplyMode) {
	if r.to.Opened != nil {
		r.to.Opened(bot.MsgRef{Platform: platformName, Channel: r.to.Thread.Channel, ID: ts}, mode)
	}
}

// canStream reports whether Slack can stream a reply to to: streams live
// in threads, and in channels Slack needs the person they are for.
func canStream(to bot.ReplyTarget) bool {
	return to.Thread.Thread != "" && (to.User != "" || isDM(to.Thread.Channel, ""))
}

// reply is one answer being written. Callers fill the buffer; the worker
// goroutine (run) brings Slack up to date with it.
type reply struct {
	a      *Adapter
	to     bot.ReplyTarget
	ws     *workspace
	ch     *channel
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wake   chan struct{}
	ended  chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	buf    []byte
	status string
	end    *ending
	err    error
	refs   []bot.MsgRef

	// The worker's own state.
	native      bool
	statusInMsg bool
	shownStatus string
	msgs        []*posted
	start       int
	fence       chattext.Fence
	streaming   bool
	nativeDone  bool
	sent        int
	lastEdit    time.Time
	lost        int
	// textShown is set once Slack shows some of the answer's text.
	textShown bool
}

// ending is how the reply ends: a footer after Finish, none after Fail.
type ending struct {
	footer bot.Footer
}

// posted is one message of the reply and what it shows.
type posted struct {
	ts    string
	shown content
	// streamed marks a message made by chat.startStream; lost one that
	// Slack stopped accepting changes to.
	streamed, lost bool
}

// maxLost bounds how many messages a reply gives up on before failing.
const maxLost = 3

// snapshot is the reply's state at one moment.
type snapshot struct {
	text   string
	status string
	end    *ending
}

var _ bot.Reply = (*reply)(nil)

// Status shows what the bot is doing until text follows or the reply ends.
func (r *reply) Status(_ context.Context, s string) error {
	r.mu.Lock()
	if len(s) > maxStatus {
		s = s[:slackText.Count.Within(s, maxStatus)]
	}
	r.status = s
	err := r.err
	r.mu.Unlock()
	r.kick()
	return err
}

// Append adds text to the answer. It never waits for Slack.
func (r *reply) Append(_ context.Context, text string) error {
	if text == "" {
		return nil
	}
	r.mu.Lock()
	if r.end != nil {
		r.mu.Unlock()
		return errFinished
	}
	r.buf = append(r.buf, text...)
	r.status = ""
	err := r.err
	r.mu.Unlock()
	r.kick()
	return err
}

// Finish sends all text with the footer, clears the status and returns the
// messages that show the answer. ctx bounds the remaining work.
func (r *reply) Finish(ctx context.Context, f bot.Footer) ([]bot.MsgRef, error) {
	return r.close(ctx, &ending{footer: f}, "")
}

// Fail ends the answer with an italic error line after the text so far.
func (r *reply) Fail(ctx context.Context, userMsg string) error {
	_, err := r.close(ctx, &ending{}, userMsg)
	return err
}

func (r *reply) close(ctx context.Context, e *ending, failMsg string) ([]bot.MsgRef, error) {
	r.mu.Lock()
	if r.end != nil {
		r.mu.Unlock()
		return nil, errFinished
	}
	if failMsg != "" {
		r.buf = append(r.buf, failureTail(string(r.buf), failMsg)...)
	}
	r.end = e
	close(r.ended)
	r.mu.Unlock()
	r.kick()
	stop := context.AfterFunc(ctx, r.cancel)
	defer stop()
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil && ctx.Err() != nil {
		return r.refs, ctx.Err()
	}
	return r.refs, r.err
}

// failureTail is what Fail adds to the text so far: a closing fence if the
// text stops inside a code block, then the error line.
func failureTail(text, userMsg string) string {
	var b strings.Builder
	if text != "" {
		b.WriteString(slackText.Close(text))
		b.WriteString("\n\n")
	}
	b.WriteString(errorLine(userMsg))
	return b.String()
}

func (r *reply) kick() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *reply) snap() snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return snapshot{text: string(r.buf), status: r.status, end: r.end}
}

func (r *reply) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// run is the reply's worker: it syncs Slack with the buffer after every
// change until the reply has ended and everything is shown.
func (r *reply) run() {
	defer close(r.done)
	defer r.cancel()
	for {
		finished, err := r.sync()
		if err != nil {
			r.fail(err)
			if r.ctx.Err() == nil {
				r.log.Warn("slack reply failed", "err", err)
			}
			r.settle()
			return
		}
		if finished {
			return
		}
		select {
		case <-r.wake:
		case <-r.ctx.Done():
			r.fail(r.ctx.Err())
			r.stopOpenStream()
			return
		}
	}
}

// settle stops the stream of a reply whose messages cannot be updated any
// more, waits for its end, then clears the status so it never outlives the reply.
func (r *reply) settle() {
	r.stopOpenStream()
	select {
	case <-r.ended:
	case <-r.ctx.Done():
		return
	}
	if r.shownStatus != "" {
		_ = r.a.call(r.ctx, r.ws.status, "assistant.threads.setStatus", func(ctx context.Context) error {
			return r.a.setStatus(ctx, r.to.Thread.Channel, r.to.Thread.Thread, "")
		})
	}
}

// sync takes steps until Slack shows the current state. It reports true
// once the reply has ended and is fully shown: the end must have been seen
// before a pass that found nothing left to do.
func (r *reply) sync() (bool, error) {
	for {
		ended := r.snap().end != nil
		progressed, err := r.step()
		if err != nil {
			return false, err
		}
		if progressed {
			continue
		}
		if !ended {
			if r.snap().end != nil {
				continue
			}
			return false, nil
		}
		r.mu.Lock()
		for _, m := range r.msgs {
			r.refs = append(r.refs, bot.MsgRef{Platform: platformName, Channel: r.to.Thread.Channel, ID: m.ts})
		}
		r.mu.Unlock()
		return true, nil
	}
}

// step takes the next step for the text, or else for the status.
func (r *reply) step() (bool, error) {
	var progressed bool
	var err error
	if r.native {
		progressed, err = r.stepNative()
	} else {
		progressed, err = r.stepPosted()
	}
	if err != nil || progressed {
		return progressed, err
	}
	return r.stepStatus()
}

// stepStatus shows the current status with assistant.threads.setStatus,
// and clears it at the end. If Slack refuses, the status moves into the
// message: the placeholder shows it.
func (r *reply) stepStatus() (bool, error) {
	s := r.snap()
	want := s.status
	if s.end != nil {
		want = ""
	}
	if r.statusInMsg || want == r.shownStatus {
		return false, nil
	}
	err := r.a.call(r.ctx, r.ws.status, "assistant.threads.setStatus", func(ctx context.Context) error {
		return r.a.setStatus(ctx, r.to.Thread.Channel, r.to.Thread.Thread, want)
	})
	switch {
	case err == nil:
		r.shownStatus = want
	case r.ctx.Err() != nil:
		return false, err
	default:
		r.log.Info("thread status unavailable, showing it in the message", "err", err)
		r.ch.refuseStatus()
		r.statusInMsg = true
		if r.native && len(r.msgs) == 0 {
			r.native = false
		}
	}
	return true, nil
}

// cur is the message the reply is writing into.
func (r *reply) cur() *posted { return r.msgs[len(r.msgs)-1] }

func (r *reply) footer(s snapshot) string {
	if s.end == nil || !r.a.cfg.Footer {
		return ""
	}
	f := s.end.footer
	return slackText.Footer(f.Model, f.Usage, f.Elapsed)
}

// claim is the reply's place in the queue for a workspace-wide method:
// its first text goes first, then the longest without a visible change.
func (r *reply) claim() *claim {
	return &claim{first: !r.textShown, since: r.lastEdit, ended: r.isEnded}
}

// isEnded reports whether Finish or Fail was called.
func (r *reply) isEnded() bool {
	select {
	case <-r.ended:
		return true
	default:
		return false
	}
}

// waitEditInterval spaces the edits of a message, unless the reply ends.
func (r *reply) waitEditInterval() error {
	return r.pause(time.Until(r.lastEdit.Add(r.a.cfg.MinEditInterval)))
}

// pause waits d, cut short when the reply ends; it fails only when the
// reply's context ends.
func (r *reply) pause(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.ended:
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	return nil
}

// giveUp handles Slack refusing a change to the current message (a stream
// that stopped accepting text, a deleted message): the text from the last
// position it surely shows continues in new messages. It returns err once
// too many messages were lost.
func (r *reply) giveUp(err error, from int) error {
	r.lost++
	if r.lost > maxLost || r.ctx.Err() != nil {
		return err
	}
	r.log.Warn("slack refused a change to the answer, continuing in a new message", "err", err)
	s := r.snap()
	r.fence = slackText.FenceAt(s.text[:from], r.start, r.fence)
	r.start, r.sent = from, from
	r.cur().lost = true
	if r.streaming {
		r.ws.streamClosed()
	}
	r.streaming, r.native = false, false
	return nil
}
