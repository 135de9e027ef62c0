package bot

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"kimibot/conversation"
)

// Files is the provider's file store for documents: Moonshot's files API
// with purpose file-extract.
type Files interface {
	// UploadFile stores a document and returns its ID.
	UploadFile(ctx context.Context, name, mime string, data []byte) (FileInfo, error)
	// FileContent returns the extracted content, as the text to put in a
	// system message.
	FileContent(ctx context.Context, id string) (string, error)
	// DeleteFile removes a stored document.
	DeleteFile(ctx context.Context, id string) error
	// ListFiles lists the stored documents.
	ListFiles(ctx context.Context) ([]FileInfo, error)
}

// FileInfo describes one stored document.
type FileInfo struct {
	ID, Name string
	Bytes    int64
	Created  time.Time
}

// Balance reports the provider account's balance.
type Balance interface {
	Balance(ctx context.Context) (AccountBalance, error)
}

// TokenCounter counts the input tokens of a request exactly, with the
// provider's tokenizer (Moonshot's estimate-token-count).
type TokenCounter interface {
	CountTokens(ctx context.Context, req ChatRequest) (int, error)
}

// AccountBalance is a provider account's balance in USD.
type AccountBalance struct {
	Available, Voucher, Cash float64
}

// The defaults of the document settings.
const (
	defaultMaxFileBytes = 20 << 20
	defaultFileTTL      = 72 * time.Hour
	// maxInlineBytes caps a text file sent inline (about 64k tokens).
	maxInlineBytes = 256 << 10
)

// fileScope is the settings scope that records a document kimibot uploaded,
// so that only its own files are ever deleted.
func fileScope(id string) conversation.Scope {
	return conversation.Scope{Kind: "file", Platform: "kimi", ID: id}
}

// maxFileBytes is the cap on one document.
func (e *Engine) maxFileBytes() int64 {
	if e.cfg.MaxFileBytes > 0 {
		return e.cfg.MaxFileBytes
	}
	return defaultMaxFileBytes
}

// document turns a non-image attachment into a file part, or a note for
// the model saying why it could not be read. A file attached before in
// the thread is reused without a new upload.
func (t *turn) document(ctx context.Context, a Attachment) (*conversation.Part, string) {
	if p, ok := t.earlierDocument(ctx, a); ok {
		return &p, ""
	}
	limit := t.e.maxFileBytes()
	if a.Size > limit {
		return nil, fmt.Sprintf("\n\n[The user attached the file %q (%s), which is larger than the %s limit for "+
			"documents, so it was not read. Tell the user.]", a.Name, sizeText(a.Size), sizeText(limit))
	}
	d, ok := t.p.(Downloader)
	if !ok {
		return nil, fmt.Sprintf("\n\n[The user attached the file %q, which kimibot cannot read here.]", a.Name)
	}
	data, err := d.Download(ctx, a)
	if err == nil && int64(len(data)) > limit {
		err = fmt.Errorf("file is larger than %d bytes", limit)
	}
	if err != nil {
		t.log.Warn("download document", "name", a.Name, "err", err)
		return nil, fmt.Sprintf("\n\n[The user attached the file %q, which could not be downloaded.]", a.Name)
	}
	if t.e.cfg.Files == nil {
		return t.inlineDocument(a, data)
	}
	return t.extractDocument(ctx, a, data)
}

// earlierDocument finds a document from the same source earlier in the thread.
func (t *turn) earlierDocument(ctx context.Context, a Attachment) (conversation.Part, bool) {
	if a.URL == "" {
		return conversation.Part{}, false
	}
	msgs, err := t.e.cfg.Threads.Messages(ctx, t.key)
	if err != nil {
		return conversation.Part{}, false
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		for _, p := range msgs[i].Parts {
			if p.Type == conversation.PartFile && p.Source == a.URL {
				return p, true
			}
		}
	}
	return conversation.Part{}, false
}

// extractDocument uploads data to the files API and reads its content.
func (t *turn) extractDocument(ctx context.Context, a Attachment, data []byte) (*conversation.Part, string) {
	files := t.e.cfg.Files
	t.status(ctx, "reading "+a.Name+"…")
	info, err := files.UploadFile(ctx, a.Name, a.MIME, data)
	if err != nil {
		t.log.Warn("upload document", "name", a.Name, "err", err)
		return nil, fmt.Sprintf("\n\n[The user attached the file %q, which the provider could not read: %s]",
			a.Name, userMessage(err))
	}
	if t.e.cfg.Settings != nil {
		if err := t.e.cfg.Settings.SetSetting(ctx, fileScope(info.ID), "thread", string(t.key)); err != nil {
			t.log.Warn("record document", "file", info.ID, "err", err)
		}
	}
	content, err := files.FileContent(ctx, info.ID)
	if err != nil {
		t.log.Warn("extract document", "name", a.Name, "file", info.ID, "err", err)
		return nil, fmt.Sprintf("\n\n[The user attached the file %q, whose text could not be extracted.]", a.Name)
	}
	return &conversation.Part{Type: conversation.PartFile, Name: a.Name, FileID: info.ID, Source: a.URL,
		Text: content}, ""
}

// inlineDocument sends a text file as it is, for providers without a files
// API; other formats are refused plainly.
func (t *turn) inlineDocument(a Attachment, data []byte) (*conversation.Part, string) {
	if !isText(a.MIME, data) {
		return nil, fmt.Sprintf("\n\n[The user attached the file %q (%s). Only text files can be read with this "+
			"provider; tell the user to paste the text or send it as a .txt, .md, .csv or .json file.]",
			a.Name, cmpMIME(a.MIME))
	}
	if len(data) > maxInlineBytes {
		return nil, fmt.Sprintf("\n\n[The user attached the text file %q (%s), too long to send with the message "+
			"(the limit is %s). Tell the user to paste the part that matters.]", a.Name, sizeText(int64(len(data))),
			sizeText(maxInlineBytes))
	}
	text := fmt.Sprintf("The user attached the file %q. Its content:\n\n%s", a.Name, data)
	return &conversation.Part{Type: conversation.PartFile, Name: a.Name, Source: a.URL, Text: text}, ""
}

// isText reports whether a file is readable text.
func isText(mime string, data []byte) bool {
	if mime == "" || mime == "application/octet-stream" {
		mime = http.DetectContentType(data)
	}
	mime, _, _ = strings.Cut(mime, ";")
	textual := strings.HasPrefix(mime, "text/") || strings.HasSuffix(mime, "json") ||
		strings.HasSuffix(mime, "xml") || strings.HasSuffix(mime, "yaml") || mime == "application/csv"
	return textual && utf8.Valid(data)
}

func cmpMIME(mime string) string {
	if mime == "" {
		return "unknown type"
	}
	return mime
}

// sizeText writes a byte count in MB or KB.
func sizeText(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d KB", (n+1023)/1024)
}

// withDocuments moves the text of document parts into system messages
// placed right before the user message that carries them, the way
// Moonshot's file-extract guide sends extracted content.
func withDocuments(msgs []conversation.Message) []conversation.Message {
	n := 0
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type == conversation.PartFile {
				n++
			}
		}
	}
	if n == 0 {
		return msgs
	}
	out := make([]conversation.Message, 0, len(msgs)+n)
	for _, m := range msgs {
		var keep []conversation.Part
		for _, p := range m.Parts {
			if p.Type != conversation.PartFile {
				keep = append(keep, p)
				continue
			}
			out = append(out, conversation.Message{Role: conversation.RoleSystem, Text: p.Text})
		}
		m.Parts = keep
		out = append(out, m)
	}
	return out
}

// deleteThreadFiles deletes the documents of a thread's current
// conversation, before a reset.
func (e *Engine) deleteThreadFiles(ctx context.Context, key conversation.ThreadKey) {
	if e.cfg.Files == nil {
		return
	}
	msgs, err := e.cfg.Threads.Messages(ctx, key)
	if err != nil {
		return
	}
	for _, m := range msgs {
		for _, p := range m.Parts {
			if p.Type == conversation.PartFile && p.FileID != "" {
				e.deleteFile(ctx, p.FileID)
			}
		}
	}
}

func (e *Engine) deleteFile(ctx context.Context, id string) {
	if err := e.cfg.Files.DeleteFile(ctx, id); err != nil {
		e.log.Warn("delete document", "file", id, "err", err)
		return
	}
	if e.cfg.Settings != nil {
		_ = e.cfg.Settings.SetSetting(ctx, fileScope(id), "thread", "")
	}
}

// ExpireFiles deletes the documents kimibot uploaded that are older than
// FileTTL, at once and then every interval until ctx ends. The thread keeps
// the extracted text, so an expired file costs nothing to the conversation.
func (e *Engine) ExpireFiles(ctx context.Context, every time.Duration) {
	if e.cfg.Files == nil {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		e.DeleteExpiredFiles(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DeleteExpiredFiles makes one pass over the provider's file list and
// deletes the documents kimibot uploaded more than FileTTL ago. It returns
// how many it deleted.
func (e *Engine) DeleteExpiredFiles(ctx context.Context) int {
	if e.cfg.Files == nil {
		return 0
	}
	ttl := e.cfg.FileTTL
	if ttl <= 0 {
		ttl = defaultFileTTL
	}
	list, err := e.cfg.Files.ListFiles(ctx)
	if err != nil {
		e.log.Warn("list documents", "err", err)
		return 0
	}
	n := 0
	for _, f := range list {
		if e.cfg.Now().Sub(f.Created) < ttl || e.setting(ctx, fileScope(f.ID), "thread") == "" {
			continue
		}
		e.deleteFile(ctx, f.ID)
		n++
	}
	return n
}
