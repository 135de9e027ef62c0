package bot

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"kimibot/conversation"
)

// ModelSource tells where the model in effect comes from.
type ModelSource string

// The places a model choice can come from, in order of precedence.
const (
	SourceThread  ModelSource = "thread"
	SourceUser    ModelSource = "user"
	SourceChannel ModelSource = "channel"
	SourceDefault ModelSource = "default"
)

// SettingModel is the settings name of the model choice.
const SettingModel = "model"

// ResolveModel returns the model for a turn by user in thread t and where
// that choice comes from: thread, then user, then channel, then the default.
func (e *Engine) ResolveModel(ctx context.Context, t ThreadRef, user string) (string, ModelSource) {
	if e.cfg.Settings != nil {
		scopes := []struct {
			scope  conversation.Scope
			source ModelSource
		}{
			{conversation.Scope{Kind: conversation.ScopeThread, Platform: t.Platform, ID: string(t.Key())}, SourceThread},
			{conversation.Scope{Kind: conversation.ScopeUser, Platform: t.Platform, ID: user}, SourceUser},
			{conversation.Scope{Kind: conversation.ScopeChannel, Platform: t.Platform, ID: t.Channel}, SourceChannel},
		}
		for _, s := range scopes {
			if s.scope.ID == "" {
				continue
			}
			v, err := e.cfg.Settings.Setting(ctx, s.scope, SettingModel)
			if err == nil && v != "" {
				return v, s.source
			}
			if err != nil && !errors.Is(err, conversation.ErrNotFound) {
				e.logger(ctx).Warn("read model setting", "scope", s.scope.Kind, "err", err)
			}
		}
	}
	return e.cfg.DefaultModel, SourceDefault
}

// modelInfo returns the capabilities of model, or conservative defaults.
func (e *Engine) modelInfo(ctx context.Context, model string) ModelInfo {
	if e.cfg.Catalog != nil {
		list, err := e.cfg.Catalog.Models(ctx)
		if err != nil {
			e.logger(ctx).Warn("list models", "err", err)
		}
		for _, m := range list {
			if m.ID == model {
				return m
			}
		}
	}
	return ModelInfo{ID: model}
}

// request builds the model call for the thread's current history.
func (t *turn) request(msgs []conversation.Message) ChatRequest {
	e := t.e
	system := t.systemMessage()
	if !t.info.Vision {
		msgs = withoutImages(msgs, t.model)
	}
	req := ChatRequest{Model: t.model, MaxTokens: e.cfg.MaxTokens,
		Messages: withDocuments(conversation.BuildHistory(system, msgs, t.budget(), e.est))}
	if t.instruction != "" {
		req.Messages = append(req.Messages, conversation.Message{Role: conversation.RoleSystem,
			Text: "A reviewer asked for a new draft of the reply with this instruction: " + t.instruction})
	}
	if e.cfg.Tools != nil {
		req.Tools = e.cfg.Tools.Specs()
	}
	return req
}

// withoutImages replaces image parts with a note for a text-only model.
func withoutImages(msgs []conversation.Message, model string) []conversation.Message {
	var out []conversation.Message
	for i, m := range msgs {
		if !m.HasImages() {
			continue
		}
		if out == nil {
			out = append([]conversation.Message(nil), msgs...)
		}
		m.Parts = nil
		m.Text += imageNote(model)
		out[i] = m
	}
	if out == nil {
		return msgs
	}
	return out
}

func imageNote(model string) string {
	return fmt.Sprintf("\n\n[The user attached an image, but the model %s cannot see images. "+
		"Tell the user to switch to a vision model if the image matters.]", model)
}

// userMessage builds the stored user message, downloading image attachments
// for a vision model.
func (t *turn) userMessage(ctx context.Context) conversation.Message {
	ev := t.ev
	m := conversation.Message{Role: conversation.RoleUser, Text: ev.Text, UserID: ev.User.ID,
		UserName: ev.User.Name, Time: ev.Time}
	if m.Time.IsZero() {
		m.Time = t.e.cfg.Now()
	}
	if ev.Message != "" {
		m.Refs = []MsgRef{{Platform: ev.Thread.Platform, Channel: ev.Thread.Channel, ID: ev.Message}}
	}
	for _, a := range ev.Attachments {
		part, note := t.attachment(ctx, a)
		if part != nil {
			m.Parts = append(m.Parts, *part)
		}
		m.Text += note
	}
	return m
}

// attachment turns one attachment into an image part or a note for the model.
func (t *turn) attachment(ctx context.Context, a Attachment) (*conversation.Part, string) {
	limit := t.e.cfg.MaxImageBytes
	if !a.IsImage() {
		return t.document(ctx, a)
	}
	if !t.info.Vision {
		return nil, imageNote(t.model)
	}
	d, ok := t.p.(Downloader)
	if !ok || (a.Size > 0 && a.Size > limit) {
		return nil, fmt.Sprintf("\n\n[The user attached the image %q, which could not be read.]", a.Name)
	}
	data, err := d.Download(ctx, a)
	if err != nil || int64(len(data)) > limit {
		t.log.Warn("download image", "name", a.Name, "err", err, "bytes", len(data))
		return nil, fmt.Sprintf("\n\n[The user attached the image %q, which could not be downloaded.]", a.Name)
	}
	mime := a.MIME
	if mime == "" || mime == "application/octet-stream" {
		mime = http.DetectContentType(data)
	}
	url := "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data)
	return &conversation.Part{Type: conversation.PartImage, ImageURL: url, Name: a.Name}, ""
}
