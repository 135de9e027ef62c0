package slack

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"kimibot/internal/tasks"
)

// pacer spaces the calls of one rate-limited Slack method and pauses them
// all after a 429 until the retry time.
type pacer struct {
	lim *rate.Limiter
	// shared, when set, is the budget this pacer shares with other replicas.
	shared *sharedBudget

	mu    sync.Mutex
	until time.Time
}

// newPacer allows at most n calls in any rolling window, in bursts of a
// few: the bucket refills n - burst - 1 times a window, so that a full burst
// plus a window of refills stays under the limit. n 0 means no limit; the
// pacer then only honours pauses.
func newPacer(n int, window time.Duration) *pacer {
	return newBurstPacer(n, window, max(1, min(5, n/10)))
}

// newBurstPacer is newPacer with the burst given.
func newBurstPacer(n int, window time.Duration, burst int) *pacer {
	if n <= 0 {
		return &pacer{lim: rate.NewLimiter(rate.Inf, 1)}
	}
	burst = max(1, min(burst, n/2))
	refill := max(1, n-burst-1)
	return &pacer{lim: rate.NewLimiter(rate.Every(window/time.Duration(refill)), burst)}
}

// newIntervalPacer allows one call per interval with a small burst, for
// Slack's "about one message a second per channel".
func newIntervalPacer(interval time.Duration, burst int) *pacer {
	return &pacer{lim: rate.NewLimiter(rate.Every(interval), burst)}
}

// wait blocks until a call may go out.
func (p *pacer) wait(ctx context.Context) error {
	_, err := p.waitUnless(ctx, nil)
	return err
}

// waitUnless blocks until a call may go out, like wait, unless stop
// reports that the call is no longer needed; it then gives the slot back
// and returns false. stop is checked whenever its wake channel fires.
func (p *pacer) waitUnless(ctx context.Context, stop *stopper) (bool, error) {
	for {
		if ok, err := stop.sleep(ctx, p.pauseLeft()); !ok || err != nil {
			return ok, err
		}
		res := p.lim.Reserve()
		ok, err := stop.sleep(ctx, res.Delay())
		if !ok || err != nil {
			res.Cancel()
			return ok, err
		}
		// A 429 may have arrived while waiting for the slot.
		if p.pauseLeft() <= 0 {
			return p.shared.take(ctx, stop)
		}
	}
}

// stopper ends a pacer wait early once a call is no longer needed.
type stopper struct {
	wake <-chan struct{}
	stop func() bool
}

// sleep waits for d. It reports false if the stopper says the call is no
// longer needed; a nil stopper only sleeps.
func (s *stopper) sleep(ctx context.Context, d time.Duration) (bool, error) {
	if s == nil {
		return true, tasks.Sleep(ctx, d)
	}
	if s.stop() {
		return false, nil
	}
	if d <= 0 {
		return true, ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return true, nil
		case <-s.wake:
			if s.stop() {
				return false, nil
			}
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// reserve takes the next slot if it comes within limit, counting any
// pause; otherwise it takes nothing and reports false.
func (p *pacer) reserve(limit time.Duration) (*rate.Reservation, bool) {
	res := p.lim.Reserve()
	if !res.OK() || max(res.Delay(), p.pauseLeft()) > limit {
		res.Cancel()
		return nil, false
	}
	return res, true
}

// nextFree is how long a call would wait for a slot now, counting any
// pause; it takes nothing.
func (p *pacer) nextFree() time.Duration {
	d := time.Duration(0)
	if lim := p.lim.Limit(); lim != rate.Inf {
		if tokens := p.lim.Tokens(); tokens < 1 {
			d = time.Duration((1 - tokens) / float64(lim) * float64(time.Second))
		}
	}
	return max(d, p.pauseLeft())
}

// waitReserved waits for a slot taken with reserve, and for any pause.
func (p *pacer) waitReserved(ctx context.Context, res *rate.Reservation) error {
	if err := tasks.Sleep(ctx, res.Delay()); err != nil {
		return err
	}
	for left := p.pauseLeft(); left > 0; left = p.pauseLeft() {
		if err := tasks.Sleep(ctx, left); err != nil {
			return err
		}
	}
	_, err := p.shared.take(ctx, nil)
	return err
}

// pause holds every call until d from now.
func (p *pacer) pause(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until := time.Now().Add(d); until.After(p.until) {
		p.until = until
	}
}

func (p *pacer) pauseLeft() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Until(p.until)
}

// workspace holds the pacers Slack counts per workspace.
type workspace struct {
	// update paces chat.update, Tier 3, shared by every stream and card.
	update *pacer
	// append paces chat.appendStream, Tier 4.
	append *pacer
	// updates and appends hand out the slots of update and append to the
	// answers being written, fairly (see turns).
	updates, appends *turns
	// start and stop pace chat.startStream and chat.stopStream, Tier 2 each.
	start, stop *pacer
	// status takes assistant.threads.setStatus, which is only paused on 429.
	status *pacer
	// interact paces views.open and chat.postEphemeral, Tier 4.
	interact *pacer
	// lookup paces users.info and chat.getPermalink, Tier 4.
	lookup *pacer
	// groups paces usergroups.users.list, Tier 2.
	groups *pacer
	// history paces conversations.replies, Tier 3.
	history *pacer

	mu sync.Mutex
	// open counts the streams started and not yet stopped; each has a
	// chat.stopStream slot set aside.
	open int
}

// streamBurst is the burst of the Tier 2 stream pacers, and so the most
// streams open at once in a workspace.
const streamBurst = 4

// admitStream takes a chat.startStream slot for a new stream if one comes
// within limit and a chat.stopStream slot is free for it beside those of
// the streams already open, so that every stream can be stopped at once
// when its answer ends. It reports false, taking nothing, otherwise.
func (w *workspace) admitStream(limit time.Duration) (*rate.Reservation, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	unlimited := w.stop.lim.Limit() == rate.Inf
	if !unlimited && (w.stop.lim.Tokens() < float64(w.open+1) || w.stop.pauseLeft() > 0) {
		return nil, false
	}
	res, ok := w.start.reserve(limit)
	if !ok {
		return nil, false
	}
	w.open++
	return res, true
}

// streamClosed gives back the stop slot of a stream that was stopped, or
// that never started.
func (w *workspace) streamClosed() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.open--
}

// channel holds what the adapter learns about one channel.
type channel struct {
	// post paces chat.postMessage: about one a second per channel (one
	// sixtieth of the limit window).
	post *pacer

	mu sync.Mutex
	// noStream is set once Slack refuses chat.startStream here, and
	// noStatus once it refuses assistant.threads.setStatus.
	noStream, noStatus bool
	// lastPost is closed once the latest reply to queue a post here has
	// made its first attempt.
	lastPost chan struct{}
}

// queuePost takes the next place in the channel's order of answer posts:
// the post may go once prev is closed, and done (which may be called more
// than once) lets the next one go. Posts so reach Slack in the order the
// answers asked, however the pacer's slots and the network reorder them.
func (c *channel) queuePost() (prev <-chan struct{}, done func()) {
	mine := make(chan struct{})
	c.mu.Lock()
	prev, c.lastPost = c.lastPost, mine
	c.mu.Unlock()
	if prev == nil {
		prev = closedChan
	}
	var once sync.Once
	return prev, func() { once.Do(func() { close(mine) }) }
}

// closedChan is a channel that is always ready.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (c *channel) flags() (noStream, noStatus bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.noStream, c.noStatus
}

// refuseStream records that Slack refuses chat.startStream in the channel.
func (c *channel) refuseStream() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noStream = true
}

// refuseStatus records that Slack refuses assistant.threads.setStatus in the channel.
func (c *channel) refuseStatus() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noStatus = true
}

// pacing hands out the workspace and channel state, creating it on first use.
type pacing struct {
	updates, appends, streams int
	window                    time.Duration
	// budget, when set, is shared with the other replicas of the app.
	budget Budget

	mu         sync.Mutex
	workspaces map[string]*workspace
	channels   map[string]*channel
}

func (p *pacing) workspace(team string) *workspace {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.workspaces[team]
	if w == nil {
		w = &workspace{update: newPacer(p.updates, p.window), append: newPacer(p.appends, p.window),
			start: newBurstPacer(p.streams, p.window, streamBurst), stop: newBurstPacer(p.streams, p.window, streamBurst),
			status: newPacer(0, 0), interact: newPacer(100, p.window), lookup: newPacer(100, p.window),
			groups: newPacer(20, p.window), history: newPacer(50, p.window)}
		p.shareWorkspace(team, w)
		w.updates, w.appends = newTurns(w.update), newTurns(w.append)
		p.workspaces[team] = w
	}
	return w
}

func (p *pacing) channel(id string) *channel {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.channels[id]
	if c == nil {
		c = &channel{post: newIntervalPacer(p.window/60, 3)}
		// Three posts in any three seconds stays within Slack's one a
		// second with bursts, however the replicas' posts interleave.
		c.post.share(p.budget, "slack:post:"+id, 5, 3*p.window/60)
		p.channels[id] = c
	}
	return c
}

// shareWorkspace makes the write pacers of workspace team take their calls
// from the budget shared with the other replicas.
func (p *pacing) shareWorkspace(team string, w *workspace) {
	key := "slack:" + team + ":"
	w.update.share(p.budget, key+"chat.update", p.updates, p.window)
	w.append.share(p.budget, key+"chat.appendStream", p.appends, p.window)
	w.start.share(p.budget, key+"chat.startStream", p.streams, p.window)
	w.stop.share(p.budget, key+"chat.stopStream", p.streams, p.window)
}
