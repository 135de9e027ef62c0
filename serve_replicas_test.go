package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
	"kimibot/conversation"
	"kimibot/storage/postgres"
	"kimibot/storage/postgres/pgtest"
)

// signingSecret signs the HTTP deliveries of the replica tests, and
// dbPassword is the database password in their KIMIBOT_DB.
const (
	signingSecret = "test-signing-secret"
	dbPassword    = "pw-SECRET-7731"
)

// replicaSet is several kimibot processes sharing one PostgreSQL database
// and the fakes, each receiving Slack's HTTP deliveries.
type replicaSet struct {
	bots  []*servedBot
	env   []string
	store *postgres.Store
	sf    *slacktest.Server
	ctx   context.Context
}

// MustReplicas starts n replicas of kimibot on a new PostgreSQL database,
// with Slack over HTTP and the lease lifetime shortened to a second so
// that a dead replica's work is taken over quickly.
func MustReplicas(tb testing.TB, n int, k *kimitest.Server, sf *slacktest.Server, extra ...string) *replicaSet {
	tb.Helper()
	slackEnv := []string{"SLACK_BOT_TOKEN=" + sf.Options().BotToken, "SLACK_SIGNING_SECRET=" + signingSecret,
		"SLACK_API_URL=" + sf.APIURL()}
	rs := startReplicas(tb, n, k, append(slackEnv, extra...))
	rs.sf = sf
	tb.Cleanup(func() {
		if v := sf.Violations(); len(v) != 0 {
			tb.Errorf("Slack limits broken by the replicas together: %+v", v)
		}
	})
	return rs
}

// startReplicas starts n replicas with env on a new PostgreSQL database;
// replica i is named ri and runs on host kimibot-i, as a StatefulSet's pod.
func startReplicas(tb testing.TB, n int, k *kimitest.Server, extra []string) *replicaSet {
	tb.Helper()
	// The test server trusts every local connection; the password is
	// there to show that it never reaches a log.
	url := strings.Replace(pgtest.MustDatabase(tb), "kimibot@", "kimibot:"+dbPassword+"@", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	tb.Cleanup(cancel)
	store, err := postgres.Open(ctx, url, postgres.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	env := append([]string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + k.BaseURL(), "KIMIBOT_DB=" + url,
		"KIMIBOT_HTTP_ADDR=127.0.0.1:0", "KIMIBOT_LOG_LEVEL=debug", "KIMIBOT_LEASE_TTL=1s"}, extra...)
	rs := &replicaSet{env: env, store: store, ctx: ctx}
	for i := range n {
		b := MustServe(tb, append(env, fmt.Sprintf("KIMIBOT_REPLICA=r%d", i), fmt.Sprintf("HOSTNAME=kimibot-%d", i)))
		rs.bots = append(rs.bots, b)
	}
	for _, b := range rs.bots {
		b.waitReady(tb)
	}
	tb.Cleanup(func() {
		if strings.Contains(rs.logs(), dbPassword) {
			tb.Errorf("the database password appears in a replica's log")
		}
	})
	return rs
}

// post delivers a signed Slack HTTP request to replica i.
func (rs *replicaSet) post(tb testing.TB, i int, path string, body []byte) {
	tb.Helper()
	url := "http://" + rs.bots[i].addr + path
	var (
		code int
		err  error
	)
	if path == "/slack/events" {
		code, err = slacktest.PostEvent(rs.ctx, url, signingSecret, body, 0)
	} else {
		var ack slacktest.Ack
		ack, err = slacktest.PostInteraction(rs.ctx, url, signingSecret, body)
		code = ack.Status
	}
	if err != nil || code != http.StatusOK {
		tb.Errorf("deliver %s to replica %d: %d, %v", path, i, code, err)
	}
}

// postAll delivers body to every replica in to at once.
func (rs *replicaSet) postAll(tb testing.TB, path string, body []byte, to ...int) {
	var wg sync.WaitGroup
	for _, i := range to {
		wg.Go(func() { rs.post(tb, i, path, body) })
	}
	wg.Wait()
}

// waitSettled waits until no stored event and no open reply is left: every
// accepted event was answered and every reply finished.
func (rs *replicaSet) waitSettled(tb testing.TB) {
	tb.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		items, err1 := rs.store.Pending(rs.ctx)
		open, err2 := rs.store.OpenReplies(rs.ctx)
		if err1 == nil && err2 == nil && len(items) == 0 && len(open) == 0 {
			return
		}
		select {
		case <-rs.ctx.Done():
			tb.Fatalf("work left: %d events, %d replies\n%s", len(items), len(open), rs.logs())
		case <-tick.C:
		}
	}
}

// logs returns every replica's log.
func (rs *replicaSet) logs() string {
	var b strings.Builder
	for i, bot := range rs.bots {
		fmt.Fprintf(&b, "--- replica %d\n%s", i, bot.logs.String())
	}
	return b.String()
}

// TestReplicasAnswerEachEventOnce delivers every event to two of three
// replicas at once, the app_mention and the message event of a mention to
// different ones: each question is answered exactly once.
func TestReplicasAnswerEachEventOnce(t *testing.T) {
	k := kimitest.New(t, kimitest.Options{})
	sf := slacktest.Start(t, slacktest.Options{})
	rs := MustReplicas(t, 3, k, sf)
	const questions = 9
	var msgs []slacktest.UserMessage
	var wg sync.WaitGroup
	for i := range questions {
		m := slacktest.UserMessage{User: "U1", Channel: "C1", Text: fmt.Sprintf("<@UKIMIBOT> question %d", i), TS: sf.NewTS()}
		msgs = append(msgs, m)
		mention, message := sf.Callback(m.Mention()).Body, sf.Callback(m.Message()).Body
		a, b := i%3, (i+1)%3
		wg.Go(func() { rs.postAll(t, "/slack/events", mention, a, b) })
		wg.Go(func() { rs.post(t, (i+2)%3, "/slack/events", message) })
	}
	wg.Wait()
	rs.waitSettled(t)
	for i, m := range msgs {
		got := sf.Thread("C1", m.TS)
		if len(got) != 1 || !strings.Contains(got[0].Shown(), fmt.Sprintf("You said: question %d", i)) {
			t.Errorf("thread of question %d shows %d bot messages: %+v", i, len(got), got)
		}
	}
	if n := len(k.ChatRequests()); n != questions {
		t.Errorf("Kimi calls = %d, want %d (one per question)", n, questions)
	}
}

// TestReplicasTakeOverFromKilledReplica kills the replica streaming an
// answer; another one finishes the cut reply with a notice and answers
// the question once.
func TestReplicasTakeOverFromKilledReplica(t *testing.T) {
	k := kimitest.New(t, kimitest.Options{})
	sf := slacktest.Start(t, slacktest.Options{})
	crashScript(t, k)
	rs := MustReplicas(t, 3, k, sf)
	m := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> tell me a story", TS: sf.NewTS()}
	rs.post(t, 0, "/slack/events", sf.Callback(m.Mention()).Body)
	wait := func(cond func() bool) error { return sf.Wait(rs.ctx, cond) }
	killMidStream(t, rs.bots[0], func() bool { return slackShows(sf.Thread("C1", m.TS), frozenText) }, wait)
	rs.post(t, 1, "/slack/events", sf.Callback(m.Message()).Body)

	err := sf.Wait(rs.ctx, func() bool {
		msgs := sf.Thread("C1", m.TS)
		return slackShows(msgs, notice) && slackShows(msgs, restartText)
	})
	if err != nil {
		t.Fatalf("no takeover: %v\n%s", err, rs.logs())
	}
	rs.waitSettled(t)
	msgs := sf.Thread("C1", m.TS)
	if len(msgs) != 2 {
		t.Fatalf("bot messages = %d, want the interrupted one and one answer: %+v", len(msgs), msgs)
	}
	if s := msgs[0].Shown(); !strings.Contains(s, frozenText) || strings.Count(s, notice) != 1 || msgs[0].Streaming {
		t.Errorf("interrupted message = %q (streaming %v), want its text, one notice and its stream stopped", s, msgs[0].Streaming)
	}
	if s := msgs[1].Shown(); strings.Count(s, restartText) != 1 {
		t.Errorf("answer after takeover = %q, want the answer once", s)
	}
	if n := len(k.ChatRequests()); n != 2 {
		t.Errorf("Kimi calls = %d, want 2 (the interrupted one and the answer)", n)
	}
}

// TestReplicasSupportApprovalOnce routes a customer channel to a review
// channel; the customer's message reaches two replicas, and both
// approvers' clicks reach all three at once: one reply, one approval.
func TestReplicasSupportApprovalOnce(t *testing.T) {
	k := kimitest.New(t, kimitest.Options{})
	sf := slacktest.Start(t, slacktest.Options{})
	for _, u := range []slacktest.User{{ID: "UCUST", Name: "Carla"}, {ID: "UREV1", Name: "Rita"}, {ID: "UREV2", Name: "Sam"}} {
		sf.AddUser(u)
	}
	rs := MustReplicas(t, 3, k, sf, "KIMIBOT_SUPPORT_ROUTES=slack:CSUP>CREV", "KIMIBOT_APPROVERS=slack:UREV1,slack:UREV2")
	q := slacktest.UserMessage{User: "UCUST", Channel: "CSUP", Text: "where is my parcel?", TS: sf.NewTS()}
	rs.postAll(t, "/slack/events", sf.Callback(q.Message()).Body, 0, 1)
	rs.waitSettled(t)
	var card slacktest.Message
	err := sf.Wait(rs.ctx, func() bool {
		for _, c := range sf.Thread("CREV", "") {
			if c.Header != "" && len(c.Buttons) > 0 {
				card = c
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no review card: %v\n%s", err, rs.logs())
	}
	var clicks [][]byte
	for _, u := range []string{"UREV1", "UREV2"} {
		p, err := sf.Click(u, card.Channel, card.TS, "kimi_approve")
		if err != nil {
			t.Fatal(err)
		}
		clicks = append(clicks, p)
	}
	var wg sync.WaitGroup
	for _, p := range clicks {
		wg.Go(func() { rs.postAll(t, "/slack/interactions", p, 0, 1, 2) })
	}
	wg.Wait()
	err = sf.Wait(rs.ctx, func() bool { return len(sf.Thread("CSUP", q.TS)) > 0 })
	if err != nil {
		t.Fatalf("no reply to the customer: %v\n%s", err, rs.logs())
	}
	rs.waitSettled(t)
	if sent := sf.Thread("CSUP", q.TS); len(sent) != 1 {
		t.Errorf("customer thread shows %d replies, want 1: %+v", len(sent), sent)
	}
	approvals := 0
	recs, err := rs.store.Audit(rs.ctx, time.Time{})
	for _, r := range recs {
		if r.Action == conversation.AuditApprove {
			approvals++
		}
	}
	if err != nil || approvals != 1 {
		t.Errorf("audit has %d approvals (%v), want 1: %+v", approvals, err, recs)
	}
	drafts, _ := rs.store.DraftsByState(rs.ctx, conversation.DraftSent)
	if len(drafts) != 1 {
		t.Errorf("sent drafts = %d, want 1", len(drafts))
	}
}

// TestReplicasRunAConversationOneAtATime sends a follow-up to another
// replica while the first answer of the thread is still streaming: it is
// answered after the first answer, with that answer in its history.
func TestReplicasRunAConversationOneAtATime(t *testing.T) {
	k := kimitest.New(t, kimitest.Options{})
	sf := slacktest.Start(t, slacktest.Options{})
	hold := make(chan struct{})
	k.Enqueue(kimitest.Response{Content: "The first answer, streamed slowly.", ChunkSize: 4, Hold: hold},
		kimitest.Response{Content: "The second answer."})
	rs := MustReplicas(t, 3, k, sf)
	first := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> first question", TS: sf.NewTS()}
	rs.post(t, 0, "/slack/events", sf.Callback(first.Mention()).Body)
	if err := sf.Wait(rs.ctx, func() bool { return slackShows(sf.Thread("C1", first.TS), "The first") }); err != nil {
		close(hold)
		t.Fatalf("no first answer: %v\n%s", err, rs.logs())
	}
	second := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> second question", TS: sf.NewTS(),
		ThreadTS: first.TS}
	rs.post(t, 1, "/slack/events", sf.Callback(second.Mention()).Body)
	if err := rs.bots[1].logs.wait(rs.ctx, "conversation busy on another replica"); err != nil {
		close(hold)
		t.Fatalf("second question did not wait for the first answer: %v\n%s", err, rs.logs())
	}
	close(hold)
	rs.waitSettled(t)
	msgs := sf.Thread("C1", first.TS)
	if len(msgs) != 2 || !strings.Contains(msgs[0].Shown(), "The first answer") ||
		!strings.Contains(msgs[1].Shown(), "The second answer.") {
		t.Fatalf("thread shows %+v, want the first answer, then the second", msgs)
	}
	reqs := k.ChatRequests()
	if len(reqs) != 2 {
		t.Fatalf("Kimi calls = %d, want 2", len(reqs))
	}
	var history []string
	for _, m := range reqs[1].Messages {
		history = append(history, m.Text())
	}
	if !strings.Contains(strings.Join(history, "\n"), "The first answer, streamed slowly.") {
		t.Errorf("second turn ran without the first answer in its history: %q", history)
	}
}

// TestReplicasShareDiscordShards runs three replicas as the pods of a
// StatefulSet: each identifies as the shard of its ordinal, and a message
// in a guild of each shard is answered once.
func TestReplicasShareDiscordShards(t *testing.T) {
	k := kimitest.New(t, kimitest.Options{})
	df := discordtest.NewServer(t, discordtest.Options{})
	const shards = 3
	channels := map[int]string{}
	for range 300 {
		// Guild IDs are snowflakes whose shard changes with the millisecond.
		time.Sleep(time.Millisecond)
		g := df.AddGuild()
		id, err := strconv.ParseUint(g, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		if s := int((id >> 22) % shards); channels[s] == "" {
			channels[s] = df.AddTextChannel(g, "general")
		}
		if len(channels) == shards {
			break
		}
	}
	if len(channels) != shards {
		t.Fatalf("no guild on every shard: %v", channels)
	}
	rs := startReplicas(t, shards, k, []string{"DISCORD_BOT_TOKEN=" + df.Token(), "DISCORD_API_URL=" + df.APIURL(),
		fmt.Sprintf("DISCORD_SHARD_COUNT=%d", shards)})
	got := map[[2]int]bool{}
	for _, id := range df.Identifies() {
		if id.Shard != nil {
			got[*id.Shard] = true
		}
	}
	for s := range shards {
		if !got[[2]int{s, shards}] {
			t.Errorf("no replica identified as shard %d of %d: %v", s, shards, got)
		}
	}
	user := df.AddUser("ada", false)
	// The answer goes into a thread started on the question, which has
	// the question's ID.
	answers := map[int]string{}
	for s, ch := range channels {
		m := df.SendMessage(discordtest.Incoming{Channel: ch, Author: user,
			Content: fmt.Sprintf("<@%s> hello from shard %d", df.Bot().ID, s)})
		answers[s] = m.ID
	}
	waitCtx, cancel := context.WithTimeout(rs.ctx, 15*time.Second)
	defer cancel()
	for _, ch := range answers {
		for !discordShows(df.BotMessages(ch), "You said") {
			select {
			case <-waitCtx.Done():
				t.Fatalf("no answer in channel %s\n%s", ch, rs.logs())
			case <-time.After(10 * time.Millisecond):
			}
		}
	}
	rs.waitSettled(t)
	for s, ch := range answers {
		msgs := df.BotMessages(ch)
		if len(msgs) != 1 || !strings.Contains(msgs[0].Content, fmt.Sprintf("hello from shard %d", s)) {
			t.Errorf("shard %d channel shows %+v, want one answer", s, msgs)
		}
	}
	if st := df.Stats(); st.RateLimited != 0 {
		t.Errorf("Discord answered %d requests with 429", st.RateLimited)
	}
}
