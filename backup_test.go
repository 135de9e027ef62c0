package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
	"kimibot/conversation"
	"kimibot/storage"
)

// MustDamagedDB writes a database file whose header pages are sound and
// whose other pages are garbage: bbolt alone panics on it.
func MustDamagedDB(tb testing.TB, path string) {
	tb.Helper()
	s, err := storage.Open(path, storage.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := s.Append(context.Background(), "slack/T/C/1", conversation.Message{Role: conversation.RoleUser, Text: "hi"}); err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 2 * os.Getpagesize(); i < len(data); i++ {
		data[i] = byte(i*7 + 3)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
}

func TestStartOnDamagedDatabase(t *testing.T) {
	db := filepath.Join(t.TempDir(), "damaged.db")
	MustDamagedDB(t, db)
	env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=http://127.0.0.1:1/v1", "KIMIBOT_DB=" + db}
	for _, args := range [][]string{{"chat"}, {"backup", filepath.Join(t.TempDir(), "copy.db")}} {
		t.Run(args[0], func(t *testing.T) {
			out, errOut, code := MustRunKimibot(t, "", env, args...)
			if code != exitDamagedDB {
				t.Errorf("exit code = %d, want %d; stderr %q", code, exitDamagedDB, errOut)
			}
			for _, want := range []string{db, "is damaged", "restore it from a backup"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q does not say %q", errOut, want)
				}
			}
			for _, bad := range []string{"panic", "goroutine "} {
				if strings.Contains(out+errOut, bad) {
					t.Fatalf("output shows %q:\n%s", bad, errOut)
				}
			}
		})
	}
}

// waitSocket polls for the backup socket of a starting bot: the bot logs
// nothing this test can await without reading its log concurrently.
func waitSocket(tb testing.TB, path string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			if perm := fi.Mode().Perm(); perm != 0o600 {
				tb.Errorf("socket mode = %v, want 0600", perm)
			}
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no backup socket at %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestBackupAndCheckWhileServingAndStopped(t *testing.T) {
	kimi := kimitest.New(t, kimitest.Options{})
	sf := slacktest.Start(t, slacktest.Options{})
	dir := t.TempDir()
	db := filepath.Join(dir, "serve.db")
	env := []string{"MOONSHOT_API_KEY=test-key", "KIMI_BASE_URL=" + kimi.BaseURL(), "KIMIBOT_DB=" + db,
		"KIMIBOT_HTTP_ADDR=127.0.0.1:0", "SLACK_BOT_TOKEN=" + sf.Options().BotToken,
		"SLACK_APP_TOKEN=" + sf.Options().AppToken, "SLACK_API_URL=" + sf.APIURL()}
	bot := MustServe(t, env)
	waitSocket(t, db+".sock")

	hot := filepath.Join(dir, "hot.db")
	out, errOut, code := MustRunKimibot(t, "", []string{"KIMIBOT_DB=" + db}, "backup", hot)
	if code != 0 || !strings.Contains(out, "from the running bot") {
		t.Fatalf("backup while serving: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if err := storage.Check(context.Background(), hot); err != nil {
		t.Fatalf("hot copy: %v", err)
	}
	out, errOut, _ = MustRunKimibot(t, "", env, "check")
	if !regexp.MustCompile(`ok +database +\S+ is consistent \(checked by the running kimibot\)`).MatchString(out) {
		t.Fatalf("check while serving: stdout %q, stderr %q; want the database checked by the bot", out, errOut)
	}
	if fi, err := os.Stat(hot); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("hot copy mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}

	if err := bot.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-bot.done; err != nil {
		t.Fatalf("kimibot did not stop cleanly: %v", err)
	}
	bot.done <- nil
	if _, err := os.Stat(db + ".sock"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("backup socket left behind after exit: %v", err)
	}

	cold := filepath.Join(dir, "cold.db")
	out, errOut, code = MustRunKimibot(t, "", []string{"KIMIBOT_DB=" + db}, "backup", cold)
	if code != 0 || !strings.Contains(out, "from the file") {
		t.Fatalf("backup of a stopped bot: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if err := storage.Check(context.Background(), cold); err != nil {
		t.Fatalf("cold copy: %v", err)
	}
	if err := storage.Check(context.Background(), db); err != nil {
		t.Fatalf("the database after the bot stopped: %v", err)
	}
	if _, errOut, code := MustRunKimibot(t, "", []string{"KIMIBOT_DB=" + db}, "backup", db); code == 0 {
		t.Errorf("backup over the database itself succeeded; stderr %q", errOut)
	}
	if _, _, code := MustRunKimibot(t, "", []string{"KIMIBOT_DB=" + db}, "backup"); code != 2 {
		t.Errorf("backup without a file: exit %d, want 2", code)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, ".*.tmp"))
	if len(matches) > 0 {
		t.Errorf("temporary files left behind: %v", matches)
	}
}

func TestBackupRefusesPostgreSQLWithoutShowingThePassword(t *testing.T) {
	dsn := "postgres://kimibot:SECRETdbpassword@127.0.0.1:1/kimibot"
	out, errOut, code := MustRunKimibot(t, "", []string{"KIMIBOT_DB=" + dsn}, "backup", filepath.Join(t.TempDir(), "copy.db"))
	if code != 2 || !strings.Contains(errOut, "pg_dump") || strings.Contains(out+errOut, "SECRET") {
		t.Fatalf("exit %d, stderr %q: want a refusal that points at pg_dump and hides the password", code, errOut)
	}
}
