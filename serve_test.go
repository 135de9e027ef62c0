package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"kimibot/adapters/discord/discordtest"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
)

// servedBot is kimibot running as a child process against the fakes.
type servedBot struct {
	cmd  *exec.Cmd
	addr string
	logs *logBuffer
	done chan error
}

// logBuffer keeps a child's log lines and wakes those waiting for one.
type logBuffer struct {
	mu      sync.Mutex
	b       strings.Builder
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) add(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.WriteString(line + "\n")
	close(l.changed)
	l.changed = make(chan struct{})
}

// String returns the log so far.
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// wait returns once the log has a line containing every one of parts.
func (l *logBuffer) wait(ctx context.Context, parts ...string) error {
	for {
		l.mu.Lock()
		text, ch := l.b.String(), l.changed
		l.mu.Unlock()
		for _, line := range strings.Split(text, "\n") {
			if containsAll(line, parts) {
				return nil
			}
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("no log line with %q: %w", parts, ctx.Err())
		}
	}
}

func containsAll(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// MustServe starts `kimibot` (serve) with env and waits for its HTTP address.
func MustServe(tb testing.TB, env []string) *servedBot {
	tb.Helper()
	cmd := exec.Command(os.Args[0])
	for _, kv := range os.Environ() {
		if !hasConfigPrefix(kv) {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, "KIMIBOT_RUN_MAIN=1"), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	s := &servedBot{cmd: cmd, logs: newLogBuffer(), done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go s.scan(stderr, addrc)
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
	})
	select {
	case s.addr = <-addrc:
	case err := <-s.done:
		tb.Fatalf("kimibot exited before listening: %v\n%s", err, s.logs.String())
	case <-time.After(30 * time.Second):
		tb.Fatalf("kimibot did not listen within 30s:\n%s", s.logs.String())
	}
	return s
}

var listenLine = regexp.MustCompile(`"http listening" addr=(\S+)`)

// scan copies the child's log and reports the listening address.
func (s *servedBot) scan(r io.Reader, addrc chan<- string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		s.logs.add(line)
		if m := listenLine.FindStringSubmatch(line); m != nil {
			addrc <- m[1]
		}
	}
	s.done <- s.cmd.Wait()
}

func hasConfigPrefix(kv string) bool {
	for _, p := range configPrefixes {
		if strings.HasPrefix(kv, p) {
			return true
		}
	}
	return false
}

// waitReady polls /readyz, which has no event to wait on, until it answers 200.
func (s *servedBot) waitReady(tb testing.TB) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := http.Get("http://" + s.addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			tb.Fatalf("kimibot never became ready:\n%s", s.logs.String())
		case <-tick.C:
		}
	}
}

func TestServeWholeProgramOnBothPlatforms(t *testing.T) {
	kimi := kimitest.New(t, kimitest.Options{})
	sf := slacktest.Start(t, slacktest.Options{})
	df := discordtest.NewServer(t, discordtest.Options{})
	bot := MustServe(t, []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + kimi.BaseURL(),
		"KIMIBOT_DB=" + filepath.Join(t.TempDir(), "serve.db"), "KIMIBOT_HTTP_ADDR=127.0.0.1:0",
		"SLACK_BOT_TOKEN=" + sf.Options().BotToken, "SLACK_APP_TOKEN=" + sf.Options().AppToken, "SLACK_API_URL=" + sf.APIURL(),
		"DISCORD_BOT_TOKEN=" + df.Token(), "DISCORD_API_URL=" + df.APIURL()})
	resp, err := http.Get("http://" + bot.addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	bot.waitReady(t)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	m := slacktest.UserMessage{User: "U1", Channel: "C1", Text: "<@UKIMIBOT> hello from slack", TS: sf.NewTS()}
	sf.PushEvent(sf.Callback(m.Mention()).Body)
	err = sf.Wait(ctx, func() bool {
		for _, msg := range sf.Thread("C1", m.TS) {
			if strings.Contains(msg.Shown(), "You said: hello from slack") && msg.Footer != "" {
				return true
			}
		}
		return false
	})
	if err != nil {
		t.Fatalf("no Slack answer: %v\n%s", err, bot.logs.String())
	}

	user := df.AddUser("ada", false)
	dm := df.DMChannel(user.ID)
	df.SendMessage(discordtest.Incoming{Channel: dm, Author: user, Content: "hello from discord"})
	df.WaitFor(t, "discord answer", func() bool {
		for _, msg := range df.BotMessages(dm) {
			if strings.Contains(msg.Content, "You said: hello from discord") {
				return true
			}
		}
		return false
	})

	if err := bot.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-bot.done; err != nil {
		t.Fatalf("kimibot did not stop cleanly on SIGTERM: %v\n%s", err, bot.logs.String())
	}
	bot.done <- nil
}
