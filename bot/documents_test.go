package bot_test

import (
	"strings"
	"testing"
	"time"

	"kimibot/adapters/kimi/kimitest"
	"kimibot/bot"
	"kimibot/internal/testkit"
)

const reportURL = "https://files.example/report.pdf"

var reportPDF = []byte("%PDF-1.4 Quarterly report: revenue grew 12% to 4.2 million.")

func withReport(ev bot.Event) bot.Event {
	ev.Attachments = []bot.Attachment{{Name: "report.pdf", MIME: "application/pdf", Size: int64(len(reportPDF)), URL: reportURL}}
	return ev
}

// systemBefore returns the system message right before the last user message.
func systemBefore(r *kimitest.ChatRequest) (kimitest.ChatMessage, bool) {
	for i := len(r.Messages) - 1; i > 0; i-- {
		if r.Messages[i].Role == "user" {
			prev := r.Messages[i-1]
			return prev, prev.Role == "system"
		}
	}
	return kimitest.ChatMessage{}, false
}

func TestDocumentUploadExtractReuseDelete(t *testing.T) {
	clk := &clock{now: time.Now()}
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) {
		c.Files, c.Now, c.FileTTL = c.Model.(bot.Files), clk.Now, time.Hour
	}})
	h.p.AddFile(reportURL, reportPDF)
	ctx := testCtx(t)

	r := h.ask(t, withReport(message("TD", "what does the report say?")), 1)
	if r.Failure() != "" {
		t.Fatalf("failure %q", r.Failure())
	}
	files := h.Kimi.Files()
	if len(files) != 1 || files[0].Purpose != "file-extract" || files[0].Filename != "report.pdf" {
		t.Fatalf("stored files = %+v, want report.pdf for file-extract", files)
	}
	sys, ok := systemBefore(h.Kimi.ChatRequests()[0])
	if !ok || !strings.Contains(sys.Text(), `"filename":"report.pdf"`) || !strings.Contains(sys.Text(), "revenue grew 12%") {
		t.Fatalf("system message before the question = %q, want the extracted content", sys.Text())
	}

	// A follow-up keeps the document; attaching it again reuses it.
	h.ask(t, message("TD", "and the growth?"), 2)
	h.ask(t, withReport(message("TD", "here it is again")), 3)
	if n := h.Kimi.Uploads(); n != 1 {
		t.Fatalf("uploads = %d, want the file reused", n)
	}
	for i, req := range h.Kimi.ChatRequests() {
		if !strings.Contains(string(req.Messages[1].Content), "revenue grew 12%") {
			t.Fatalf("request %d lost the document: %s", i, req.Messages[1].Content)
		}
	}

	// Reset deletes the thread's files.
	h.Engine.Command(ctx, bot.Command{Thread: threadRef("TD"), User: bot.User{ID: "U1"}, Name: "new"})
	if files := h.Kimi.Files(); len(files) != 0 {
		t.Fatalf("files after reset = %+v, want none", files)
	}

	// Expiry deletes kimibot's old files only.
	h.ask(t, withReport(message("TD2", "read this")), 4)
	foreign := uploadForeign(t, h)
	clk.Add(2 * time.Hour)
	if n := h.Engine.DeleteExpiredFiles(ctx); n != 1 {
		t.Fatalf("deleted %d expired files, want 1", n)
	}
	left := h.Kimi.Files()
	if len(left) != 1 || left[0].ID != foreign {
		t.Fatalf("files after expiry = %+v, want only the file kimibot did not upload", left)
	}
}

// uploadForeign stores a file in the account that kimibot did not upload.
func uploadForeign(tb testing.TB, h *harness) string {
	tb.Helper()
	info, err := h.Client.UploadFile(testCtx(tb), "other.txt", "text/plain", []byte("not ours"))
	if err != nil {
		tb.Fatal(err)
	}
	return info.ID
}

func TestDocumentTooLargeIsExplained(t *testing.T) {
	h := MustStart(t, testkit.Options{Configure: func(c *bot.Config) {
		c.Files, c.MaxFileBytes = c.Model.(bot.Files), 16
	}})
	h.p.AddFile(reportURL, reportPDF)
	h.ask(t, withReport(message("TBIG", "read it")), 1)
	if h.Kimi.Uploads() != 0 {
		t.Fatal("a file above the limit was uploaded")
	}
	if u := lastUser(h.Kimi.ChatRequests()[0]); !strings.Contains(u.Text(), "larger than the 1 KB limit") {
		t.Fatalf("user message = %q, want the limit explained", u.Text())
	}
}

func TestOpenRouterDocumentsInlineOrRefused(t *testing.T) {
	h := MustStart(t, testkit.Options{Flavor: kimitest.OpenRouter})
	h.p.AddFile("https://files.example/notes.md", []byte("# Notes\nShip on Friday."))
	h.p.AddFile(reportURL, reportPDF)
	h.p.AddFile("https://files.example/log.txt", []byte(strings.Repeat("line of a long log\n", 20000)))
	ev := message("TORD", "summarize")
	ev.Attachments = []bot.Attachment{
		{Name: "notes.md", MIME: "text/markdown", URL: "https://files.example/notes.md"},
		{Name: "report.pdf", MIME: "application/pdf", URL: reportURL},
		{Name: "log.txt", MIME: "text/plain", URL: "https://files.example/log.txt"},
	}
	h.ask(t, ev, 1)
	req := h.Kimi.ChatRequests()[0]
	sys, ok := systemBefore(req)
	if !ok || !strings.Contains(sys.Text(), "Ship on Friday.") {
		t.Fatalf("system message = %q, want the text file inline", sys.Text())
	}
	if u := lastUser(req); !strings.Contains(u.Text(), `"report.pdf" (application/pdf). Only text files`) {
		t.Fatalf("user message = %q, want the PDF refused plainly", u.Text())
	}
	if u := lastUser(req); !strings.Contains(u.Text(), `"log.txt" (372 KB), too long to send`) {
		t.Fatalf("user message = %q, want the long text file refused with its size", u.Text())
	}
}
