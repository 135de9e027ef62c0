package slack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"kimibot/internal/tasks"
)

// maxServerRetries bounds the retries of a call after 5xx answers; 429s
// are retried for as long as the caller's context allows.
const maxServerRetries = 5

// call runs one Web API call under a pacer. build is run after every wait,
// so a call that had to wait sends the latest state. A 429 pauses the
// pacer, and with it every call of that method in the workspace, until the
// retry time; a 429 without a usable Retry-After waits RetryWait, doubling.
func (a *Adapter) call(ctx context.Context, p *pacer, method string, build func(context.Context) error) error {
	_, err := a.callUnless(ctx, p, method, nil, build)
	return err
}

// callUnless is call, except that it gives up before sending, and reports
// false, once stop says the call is no longer needed.
func (a *Adapter) callUnless(ctx context.Context, p *pacer, method string, stop *stopper, build func(context.Context) error) (bool, error) {
	return a.callWith(ctx, p, method, func(ctx context.Context, _ int) (bool, error) {
		return p.waitUnless(ctx, stop)
	}, build)
}

// callReserved is call whose first attempt uses a slot already taken
// with pacer.reserve; retries take new slots.
func (a *Adapter) callReserved(ctx context.Context, p *pacer, res *rate.Reservation, method string, build func(context.Context) error) error {
	_, err := a.callWith(ctx, p, method, func(ctx context.Context, attempt int) (bool, error) {
		if attempt == 1 {
			return true, p.waitReserved(ctx, res)
		}
		return p.waitUnless(ctx, nil)
	}, build)
	return err
}

// callTurn is callUnless for a method whose slots are handed out by t:
// every attempt waits for a turn as c.
func (a *Adapter) callTurn(ctx context.Context, t *turns, c *claim, method string, stop *stopper, build func(context.Context) error) (bool, error) {
	return a.callWith(ctx, t.p, method, func(ctx context.Context, _ int) (bool, error) {
		return t.wait(ctx, c, stop)
	}, build)
}

// callWith runs the call loop; slot waits for the slot of each attempt
// and reports false when the call is no longer needed.
func (a *Adapter) callWith(ctx context.Context, p *pacer, method string, slot func(context.Context, int) (bool, error),
	build func(context.Context) error) (bool, error) {
	unusable := 0
	for attempt := 1; ; attempt++ {
		ok, err := slot(ctx, attempt)
		if err != nil {
			return false, fmt.Errorf("%s: %w", method, err)
		}
		if !ok {
			return false, nil
		}
		err = build(ctx)
		if err == nil {
			return true, nil
		}
		wait, limited, retry := a.retryWait(err, method, attempt, &unusable)
		if !retry || ctx.Err() != nil {
			return false, fmt.Errorf("%s: %w", method, err)
		}
		a.log.Debug("slack call will be retried", "method", method, "err", err, "wait", wait)
		if !limited {
			if err := tasks.Sleep(ctx, wait); err != nil {
				return false, fmt.Errorf("%s: %w", method, err)
			}
			continue
		}
		p.pause(wait)
	}
}

// idempotent are the methods that may be sent again after an answer was
// lost: each call states the whole result.
var idempotent = map[string]bool{"chat.update": true, "assistant.threads.setStatus": true}

// retryWait says whether and after how long a failed call is retried, and
// whether the wait is a rate limit that holds the whole method.
func (a *Adapter) retryWait(err error, method string, attempt int, unusable *int) (wait time.Duration, limited, retry bool) {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		*unusable = 0
		if rl.RetryAfter > 0 {
			return rl.RetryAfter, true, true
		}
		return a.cfg.RetryWait, true, true
	}
	// slack-go turns a 429 without Retry-After into a StatusCodeError and
	// one with an unparseable header into the strconv error itself.
	var status slack.StatusCodeError
	var parse *strconv.NumError
	isStatus := errors.As(err, &status)
	if (isStatus && status.Code == http.StatusTooManyRequests) || errors.As(err, &parse) {
		*unusable++
		return backoff(*unusable-1, a.cfg.RetryWait, time.Minute), true, true
	}
	var lostAnswer *url.Error
	serverFault := isStatus && status.Code >= 500
	if idempotent[method] && errors.As(err, &lostAnswer) {
		serverFault = true
	}
	if serverFault && attempt <= maxServerRetries {
		return backoff(attempt-1, 250*time.Millisecond, 8*time.Second), false, true
	}
	return 0, false, false
}

// slackError returns the Slack error code of an ok:false answer, or "".
func slackError(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

// streamRefused reports whether chat.startStream failed because streaming
// is not allowed here, rather than because of a passing problem.
func streamRefused(err error) bool {
	switch slackError(err) {
	case "method_not_supported_for_channel_type", "not_allowed_token_type", "unknown_method",
		"missing_scope", "feature_not_enabled", "not_allowed", "team_not_allowed", "invalid_thread_ts":
		return true
	}
	return false
}

// content is what one message shows: Markdown and an optional footer.
type content struct{ md, footer string }

func messageOptions(c content) []slack.MsgOption {
	return []slack.MsgOption{
		slack.MsgOptionText(fallbackText(c.md), false),
		slack.MsgOptionBlocks(contentBlocks(c.md, c.footer)...),
	}
}

// postMessage posts a message, in a thread if threadTS is set, and returns its ts.
func (a *Adapter) postMessage(ctx context.Context, channelID, threadTS string, c content) (string, error) {
	opts := messageOptions(c)
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	_, ts, err := a.api.PostMessageContext(ctx, channelID, opts...)
	return ts, err
}

func (a *Adapter) updateMessage(ctx context.Context, channelID, ts string, c content) error {
	_, _, _, err := a.api.UpdateMessageContext(ctx, channelID, ts, messageOptions(c)...)
	return err
}

// startStream opens a streamed message in a thread. In channels Slack
// needs the user and team the stream is for.
func (a *Adapter) startStream(ctx context.Context, channelID, threadTS, user, team, md string) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionTS(threadTS)}
	if !isDM(channelID, "") {
		opts = append(opts, slack.MsgOptionRecipientUserID(user), slack.MsgOptionRecipientTeamID(team))
	}
	if md != "" {
		opts = append(opts, slack.MsgOptionMarkdownText(md))
	}
	_, ts, err := a.api.StartStreamContext(ctx, channelID, opts...)
	return ts, err
}

func (a *Adapter) appendStream(ctx context.Context, channelID, ts, md string) error {
	_, _, err := a.api.AppendStreamContext(ctx, channelID, ts, slack.MsgOptionMarkdownText(md))
	return err
}

// stopStream ends a stream with its last text and the footer.
func (a *Adapter) stopStream(ctx context.Context, channelID, ts, md, footer string) error {
	var opts []slack.MsgOption
	if md != "" {
		opts = append(opts, slack.MsgOptionMarkdownText(md))
	}
	if footer != "" {
		opts = append(opts, slack.MsgOptionBlocks(footerBlock(footer)))
	}
	_, _, err := a.api.StopStreamContext(ctx, channelID, ts, opts...)
	return err
}

// setStatus shows (or with "" clears) the thread's status line.
func (a *Adapter) setStatus(ctx context.Context, channelID, threadTS, status string) error {
	return a.api.SetAssistantThreadsStatusContext(ctx, slack.AssistantThreadsSetStatusParameters{
		ChannelID: channelID, ThreadTS: threadTS, Status: status,
	})
}
