package kimi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"time"

	"kimibot/bot"
)

var (
	_ bot.Files        = (*Client)(nil)
	_ bot.Balance      = (*Client)(nil)
	_ bot.TokenCounter = (*Client)(nil)
)

// errNoFilesAPI is returned by the file and balance calls on OpenRouter.
var errNoFilesAPI = errors.New("the provider has no files or balance API")

// sideCallTimeout bounds one files or balance request.
const sideCallTimeout = 2 * time.Minute

// fileObject is Moonshot's file object.
type fileObject struct {
	ID        string `json:"id"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
}

func (f fileObject) info() bot.FileInfo {
	return bot.FileInfo{ID: f.ID, Name: f.Filename, Bytes: f.Bytes, Created: time.Unix(f.CreatedAt, 0)}
}

// UploadFile uploads a document with purpose file-extract.
func (c *Client) UploadFile(ctx context.Context, name, mime string, data []byte) (bot.FileInfo, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if err := w.WriteField("purpose", "file-extract"); err != nil {
		return bot.FileInfo{}, err
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, strings.ReplaceAll(name, `"`, "'")))
	if mime == "" {
		mime = "application/octet-stream"
	}
	h.Set("Content-Type", mime)
	part, err := w.CreatePart(h)
	if err == nil {
		_, err = part.Write(data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return bot.FileInfo{}, fmt.Errorf("encode upload: %w", err)
	}
	var f fileObject
	if err := c.side(ctx, http.MethodPost, "/files", w.FormDataContentType(), &body, &f); err != nil {
		return bot.FileInfo{}, fmt.Errorf("upload file: %w", err)
	}
	return f.info(), nil
}

// FileContent returns the extracted content of a file: the JSON text
// Moonshot's guide puts whole into a system message.
func (c *Client) FileContent(ctx context.Context, id string) (string, error) {
	var raw json.RawMessage
	if err := c.side(ctx, http.MethodGet, "/files/"+url.PathEscape(id)+"/content", "", nil, &raw); err != nil {
		return "", fmt.Errorf("read file content: %w", err)
	}
	return string(raw), nil
}

// DeleteFile deletes a file; a file already gone counts as deleted.
func (c *Client) DeleteFile(ctx context.Context, id string) error {
	err := c.side(ctx, http.MethodDelete, "/files/"+url.PathEscape(id), "", nil, nil)
	var ke *Error
	if err != nil && !(errors.As(err, &ke) && ke.Kind == NotFound) {
		return fmt.Errorf("delete file: %w", err)
	}
	return nil
}

// ListFiles lists the account's files.
func (c *Client) ListFiles(ctx context.Context) ([]bot.FileInfo, error) {
	var list struct {
		Data []fileObject `json:"data"`
	}
	if err := c.side(ctx, http.MethodGet, "/files", "", nil, &list); err != nil {
		return nil, fmt.Errorf("list files: %w", err)
	}
	out := make([]bot.FileInfo, 0, len(list.Data))
	for _, f := range list.Data {
		out = append(out, f.info())
	}
	return out, nil
}

// Balance returns Moonshot's account balance.
func (c *Client) Balance(ctx context.Context) (bot.AccountBalance, error) {
	var resp struct {
		Data struct {
			Available float64 `json:"available_balance"`
			Voucher   float64 `json:"voucher_balance"`
			Cash      float64 `json:"cash_balance"`
		} `json:"data"`
	}
	if err := c.side(ctx, http.MethodGet, "/users/me/balance", "", nil, &resp); err != nil {
		return bot.AccountBalance{}, fmt.Errorf("read balance: %w", err)
	}
	d := resp.Data
	return bot.AccountBalance{Available: d.Available, Voucher: d.Voucher, Cash: d.Cash}, nil
}

// side makes one request to a Moonshot side endpoint and decodes the JSON
// answer into out (when not nil).
func (c *Client) side(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	if c.cfg.Provider != Moonshot {
		return errNoFilesAPI
	}
	ctx, cancel := context.WithTimeout(ctx, sideCallTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.tr.Do(req)
	if err != nil {
		return c.redact(&Error{Kind: ProviderDown, Message: err.Error()})
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return c.redact(httpError(resp.StatusCode, resp.Header, data))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// CountTokens asks Moonshot's tokenizer how many input tokens req would
// use, with its messages exactly as Stream would send them.
func (c *Client) CountTokens(ctx context.Context, req bot.ChatRequest) (int, error) {
	oreq, x, err := c.buildRequest(req, c.thinks(req))
	if err != nil {
		return 0, fmt.Errorf("build request: %w", err)
	}
	raw, err := json.Marshal(map[string]any{"model": oreq.Model, "messages": oreq.Messages})
	if err == nil {
		raw, err = mergeBody(raw, nil, x.msgs)
	}
	if err != nil {
		return 0, fmt.Errorf("encode token count: %w", err)
	}
	var resp struct {
		Data struct {
			TotalTokens int `json:"total_tokens"`
		} `json:"data"`
	}
	if err := c.side(ctx, http.MethodPost, "/tokenizers/estimate-token-count", "application/json",
		bytes.NewReader(raw), &resp); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	return resp.Data.TotalTokens, nil
}
