package main

import (
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"kimibot/adapters/discord/discordtest"
	"kimibot/adapters/kimi/kimitest"
	"kimibot/adapters/slack/slacktest"
	"kimibot/storage"
	"kimibot/storage/postgres/pgtest"
	"kimibot/tools/orderstest"
)

// checkWorld is a set of fakes and the environment that points kimibot at them.
type checkWorld struct {
	env []string
	db  string
}

// The secrets of the check tests; none may appear in the output.
const (
	secretKimi    = "sk-SECRET-kimi-1"
	secretBot     = "xoxb-SECRET-bot-1"
	secretApp     = "xapp-SECRET-app-1"
	secretDiscord = "SECRET-discord-token-1"
	secretOrders  = "SECRET-orders-1"
)

// worldOptions vary the fakes of a check test.
type worldOptions struct {
	// scopes are the Slack bot token's (the manifest's when nil).
	scopes []string
	// denyContent turns the Discord Message Content intent off.
	denyContent bool
}

// MustCheckWorld starts the fakes.
func MustCheckWorld(tb testing.TB, o worldOptions) *checkWorld {
	tb.Helper()
	kimi := kimitest.New(tb, kimitest.Options{APIKey: secretKimi})
	sf := slacktest.Start(tb, slacktest.Options{BotToken: secretBot, AppToken: secretApp, Scopes: o.scopes})
	sf.AddUser(slacktest.User{ID: "UADMIN", Name: "ada"})
	sf.AddChannel("CSUPPORT", "support")
	sf.AddChannel("CREVIEW", "review")
	df := discordtest.NewServer(tb, discordtest.Options{Token: secretDiscord, DenyMessageContent: o.denyContent})
	df.AddGuild()
	orders := orderstest.New(tb, secretOrders, map[string]any{"id": "A1001", "status": "shipped"})
	w := &checkWorld{db: filepath.Join(tb.TempDir(), "check.db")}
	s, err := storage.Open(w.db, storage.Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Close(); err != nil {
		tb.Fatal(err)
	}
	w.env = []string{"MOONSHOT_API_KEY=" + secretKimi, "KIMI_BASE_URL=" + kimi.BaseURL(), "KIMI_MODEL=kimi-k3",
		"SLACK_BOT_TOKEN=" + secretBot, "SLACK_APP_TOKEN=" + secretApp, "SLACK_API_URL=" + sf.APIURL(),
		"DISCORD_BOT_TOKEN=" + secretDiscord, "DISCORD_API_URL=" + df.APIURL(),
		"ORDERS_API_URL=" + orders.URL(), "ORDERS_API_TOKEN=" + secretOrders, "KIMIBOT_DB=" + w.db,
		"KIMIBOT_ADMINS=slack:UADMIN", "KIMIBOT_SUPPORT_ROUTES=slack:CSUPPORT>CREVIEW"}
	return w
}

// with returns the environment with kv replacing the variable of the same name.
func (w *checkWorld) with(kvs ...string) []string {
	env := slices.Clone(w.env)
	for _, kv := range kvs {
		name, _, _ := strings.Cut(kv, "=")
		env = slices.DeleteFunc(env, func(e string) bool { return strings.HasPrefix(e, name+"=") })
		env = append(env, kv)
	}
	return env
}

// assertNoSecrets fails when any test secret appears in out.
func assertNoSecrets(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "SECRET") {
		t.Fatalf("output shows a secret:\n%s", out)
	}
}

// rowOf returns the table line of check name and the fix line under it.
func rowOf(out, name string) (row, fix string) {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		fields := strings.Fields(l)
		if len(fields) > 1 && strings.HasPrefix(strings.TrimSpace(strings.TrimPrefix(l, fields[0])), name) {
			if i+1 < len(lines) && strings.Contains(lines[i+1], "fix: ") {
				fix = strings.TrimSpace(lines[i+1])
			}
			return l, fix
		}
	}
	return "", ""
}

func TestCheckHealthy(t *testing.T) {
	w := MustCheckWorld(t, worldOptions{scopes: append(slices.Clone(slacktest.DefaultScopes), "channels:read")})
	out, errOut, code := MustRunKimibot(t, "", w.env, "check")
	assertNoSecrets(t, out+errOut)
	if code != 0 {
		t.Fatalf("exit %d, want 0\n%s%s", code, out, errOut)
	}
	for _, name := range []string{"model API key", "default model", "balance", "Slack bot token", "Slack scopes",
		"Slack Socket Mode", "Discord bot token", "Discord message content", "Discord servers", "orders", "database",
		"admins and approvers", "support routes"} {
		if row, _ := rowOf(out, name); !strings.HasPrefix(row, "ok ") {
			t.Errorf("check %q: row %q, want ok\n%s", name, row, out)
		}
	}
	if row, fix := rowOf(out, "Slack event subscriptions"); !strings.HasPrefix(row, "info ") ||
		!strings.Contains(fix, "app_mention") {
		t.Errorf("event subscriptions: %q %q, want an info row naming the events to check by hand", row, fix)
	}
}

func TestCheckFailures(t *testing.T) {
	noChatWrite := slices.DeleteFunc(slices.Clone(slacktest.DefaultScopes), func(s string) bool { return s == "chat:write" })
	for _, tc := range []struct {
		name     string
		world    worldOptions
		env      []string
		damage   bool
		check    string
		detail   string
		fix      string
		wantCode int
	}{
		{name: "missing scope", world: worldOptions{scopes: noChatWrite}, check: "Slack scopes", detail: "missing chat:write",
			fix: "reinstall the app", wantCode: 1},
		{name: "bad token", env: []string{"DISCORD_BOT_TOKEN=SECRET-wrong-token"}, check: "Discord bot token",
			detail: "refused the token", fix: "DISCORD_BOT_TOKEN", wantCode: 1},
		{name: "message content intent off", world: worldOptions{denyContent: true}, check: "Discord message content",
			detail: "intent is off", fix: "Message Content Intent", wantCode: 1},
		{name: "bad model key", env: []string{"MOONSHOT_API_KEY=sk-SECRET-wrong"}, check: "model API key",
			detail: "refused the key", fix: "MOONSHOT_API_KEY", wantCode: 1},
		{name: "damaged database", damage: true, check: "database", detail: "damaged",
			fix: "restore the file from a backup", wantCode: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := MustCheckWorld(t, tc.world)
			if tc.damage {
				MustDamageFile(t, w.db)
			}
			out, errOut, code := MustRunKimibot(t, "", w.with(tc.env...), "check")
			assertNoSecrets(t, out+errOut)
			if code != tc.wantCode {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.wantCode, out, errOut)
			}
			row, fix := rowOf(out, tc.check)
			if !strings.HasPrefix(row, "fail ") || !strings.Contains(row, tc.detail) || !strings.Contains(fix, tc.fix) {
				t.Fatalf("row %q, fix %q; want fail with %q and a fix with %q\n%s", row, fix, tc.detail, tc.fix, out)
			}
		})
	}
}

func TestCheckLockedDatabaseWarns(t *testing.T) {
	w := MustCheckWorld(t, worldOptions{})
	s, err := storage.Open(w.db, storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, errOut, code := MustRunKimibot(t, "", w.env, "check")
	if code != 0 {
		t.Fatalf("exit %d, want 0 (a locked database is a warning)\n%s%s", code, out, errOut)
	}
	if row, fix := rowOf(out, "database"); !strings.HasPrefix(row, "warn ") || !strings.Contains(fix, "stop the bot or check a backup copy") {
		t.Fatalf("database row %q, fix %q; want a warning with the fix", row, fix)
	}
	if row, _ := rowOf(out, "support routes"); !strings.HasPrefix(row, "warn ") {
		t.Fatalf("support routes row %q: without channels:read Slack cannot show channels, want warn", row)
	}
}

// MustDamageFile overwrites the pages after the two meta pages of a bbolt file.
func MustDamageFile(tb testing.TB, path string) {
	tb.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		tb.Fatal(err)
	}
	from := 2 * int64(os.Getpagesize())
	junk := make([]byte, st.Size()-from)
	for i := range junk {
		junk[i] = byte(0xA5 ^ i)
	}
	if _, err := f.WriteAt(junk, from); err != nil {
		tb.Fatal(err)
	}
}

func TestManifestScopesMatchTheFake(t *testing.T) {
	got := manifestList("oauth_config:", "bot")
	if !slices.Equal(got, slacktest.DefaultScopes) {
		t.Fatalf("manifest scopes %v, slacktest.DefaultScopes %v: keep them equal", got, slacktest.DefaultScopes)
	}
	if events := manifestList("event_subscriptions:", "bot_events"); !slices.Contains(events, "app_mention") {
		t.Fatalf("manifest bot events = %v", events)
	}
}

// withPassword puts password into the user part of a postgres:// URL.
func withPassword(tb testing.TB, dsn, password string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), password)
	return u.String()
}

func TestCheckPostgresDatabase(t *testing.T) {
	w := MustCheckWorld(t, worldOptions{scopes: append(slices.Clone(slacktest.DefaultScopes), "channels:read")})
	dsn := withPassword(t, pgtest.MustDatabase(t), "SECRETdbpassword")
	out, errOut, _ := MustRunKimibot(t, "", w.with("KIMIBOT_DB="+dsn), "check")
	assertNoSecrets(t, out+errOut)
	if row, fix := rowOf(out, "database"); !strings.HasPrefix(row, "info ") || !strings.Contains(fix, "first start") {
		t.Errorf("empty PostgreSQL database: %q %q, want an info row", row, fix)
	}

	u, _ := url.Parse(dsn)
	u.Host = "127.0.0.1:1"
	out, errOut, code := MustRunKimibot(t, "", w.with("KIMIBOT_DB="+u.String()), "check")
	assertNoSecrets(t, out+errOut)
	if row, _ := rowOf(out, "database"); code != 1 || !strings.HasPrefix(row, "fail ") {
		t.Errorf("unreachable PostgreSQL: exit %d, row %q, want a failed check\n%s", code, row, out)
	}
}
