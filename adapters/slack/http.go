package slack

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// maxBody caps the size of a request from Slack.
const maxBody = 1 << 20

// signatureWindow is how far a request's timestamp may be from now.
const signatureWindow = 5 * time.Minute

// The reasons a request fails verification.
var (
	errUnsigned     = errors.New("missing signature headers")
	errStale        = errors.New("timestamp outside the 5 minute window")
	errBadSignature = errors.New("signature mismatch")
)

// HTTPHandler serves Slack's HTTP deliveries, for apps without Socket
// Mode: /slack/events (Events API), /slack/commands (slash commands) and
// /slack/interactions. Every request must carry a valid signature, and a
// signature is accepted once: a repeated event is acknowledged without
// being handled again (Slack may retry at once, within the same second),
// a repeated command or interaction is refused.
func (a *Adapter) HTTPHandler() http.Handler {
	g := newReplayGuard(maxRemembered, time.Now)
	mux := http.NewServeMux()
	mux.Handle("POST /slack/events", a.verified(g, http.StatusOK, a.serveEvents))
	mux.Handle("POST /slack/commands", a.verified(g, http.StatusUnauthorized, a.serveCommand))
	mux.Handle("POST /slack/interactions", a.verified(g, http.StatusUnauthorized, a.serveInteraction))
	return mux
}

// verified reads the body of a request and checks its signature, and that
// the signature was not used before, before passing it on. A repeat gets
// repeatStatus. A request the handler does not accept (a 5xx answer) may
// come again.
func (a *Adapter) verified(g *replayGuard, repeatStatus int, next func(http.ResponseWriter, *http.Request, []byte)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
			return
		}
		ts, err := verifySignature(a.cfg.SigningSecret, r.Header, body, time.Now())
		if err != nil {
			a.log.Warn("slack request rejected", "path", r.URL.Path, "err", err)
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		sig := r.Header.Get("X-Slack-Signature")
		if !g.claim(sig, ts) {
			a.log.Warn("slack request repeated", "path", r.URL.Path, "status", repeatStatus)
			if repeatStatus == http.StatusOK {
				w.WriteHeader(http.StatusOK)
				return
			}
			http.Error(w, "request already received", repeatStatus)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next(sw, r, body)
		if sw.status >= http.StatusInternalServerError {
			g.release(sig)
		}
	})
}

// verifySignature checks Slack's v0 signature: an HMAC-SHA256 with the
// signing secret of "v0:<timestamp>:<body>", compared in constant time,
// with the timestamp no more than five minutes from now. It returns the
// request's timestamp.
func verifySignature(secret string, h http.Header, body []byte, now time.Time) (time.Time, error) {
	ts, sig := h.Get("X-Slack-Request-Timestamp"), h.Get("X-Slack-Signature")
	if secret == "" || ts == "" || sig == "" {
		return time.Time{}, errUnsigned
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return time.Time{}, errStale
	}
	at := time.Unix(sec, 0)
	if skew := now.Sub(at); skew > signatureWindow || skew < -signatureWindow {
		return time.Time{}, errStale
	}
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", ts)
	mac.Write(body)
	want := "v0=" + hex.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return time.Time{}, errBadSignature
	}
	return at, nil
}

// requestContext bounds the work done before answering Slack, which gives
// up after three seconds.
func requestContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 2*time.Second)
}

func (a *Adapter) serveEvents(w http.ResponseWriter, r *http.Request, body []byte) {
	outer, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		// An event type slack-go does not know: acknowledge it, or Slack
		// would keep sending it.
		a.log.Debug("unreadable slack event acknowledged", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	if outer.Type == slackevents.URLVerification {
		challenge, _ := outer.Data.(*slackevents.EventsAPIURLVerificationEvent)
		writeJSON(w, map[string]string{"challenge": challenge.Challenge})
		return
	}
	if n := r.Header.Get("X-Slack-Retry-Num"); n != "" {
		a.log.Debug("slack event retry", "retry", n, "reason", r.Header.Get("X-Slack-Retry-Reason"))
	}
	ctx, cancel := requestContext(r)
	defer cancel()
	if err := a.onEventsAPI(ctx, outer); err != nil {
		a.log.Warn("slack event not accepted", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *Adapter) serveCommand(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	cmd := slack.SlashCommand{
		TeamID: form.Get("team_id"), ChannelID: form.Get("channel_id"), ChannelName: form.Get("channel_name"),
		UserID: form.Get("user_id"), UserName: form.Get("user_name"), Command: form.Get("command"),
		Text: form.Get("text"), ResponseURL: form.Get("response_url"), TriggerID: form.Get("trigger_id"),
		APIAppID: form.Get("api_app_id"),
	}
	task, err := a.commandTask(cmd)
	if err != nil {
		a.log.Warn("slash command not accepted", "err", err, "command", cmd.Command)
		writeJSON(w, map[string]string{"response_type": "ephemeral", "text": notReadyText})
		return
	}
	start := a.hold(task)
	acknowledge(w, nil)
	start()
}

// notReadyText answers a command that came before the bot was ready.
const notReadyText = "Sorry, I am not ready yet. Please try again in a moment."

// acknowledge answers Slack at once, with payload as JSON or an empty
// body, so that the work that follows runs after Slack has its answer.
func acknowledge(w http.ResponseWriter, payload any) {
	if payload != nil {
		writeJSON(w, payload)
	} else {
		w.WriteHeader(http.StatusOK)
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}

func (a *Adapter) serveInteraction(w http.ResponseWriter, r *http.Request, body []byte) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	var cb slack.InteractionCallback
	if err := json.Unmarshal([]byte(form.Get("payload")), &cb); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	in, err := a.onInteraction(cb)
	if err != nil {
		a.log.Warn("slack interaction not accepted", "err", err, "type", cb.Type)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	start := a.hold(in.task)
	acknowledge(w, in.ack)
	start()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
