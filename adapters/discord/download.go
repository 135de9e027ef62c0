package discord

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"kimibot/bot"
)

var _ bot.Downloader = (*Adapter)(nil)

// maxDownload bounds an attachment download.
const maxDownload = 25 << 20

// attachmentHosts are where Discord serves attachments.
var attachmentHosts = map[string]bool{"cdn.discordapp.com": true, "media.discordapp.net": true}

// Download fetches an attachment from Discord's CDN (or from the API host,
// where a test fake serves them). Other hosts are refused so that a crafted
// URL cannot make the bot fetch arbitrary addresses.
func (a *Adapter) Download(ctx context.Context, at bot.Attachment) ([]byte, error) {
	u, err := url.Parse(at.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || !(attachmentHosts[u.Hostname()] || u.Host == a.apiHost) {
		return nil, fmt.Errorf("download %s: not a Discord attachment URL", at.Name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", at.Name, err)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", at.Name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("download %s: status %d", at.Name, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, fmt.Errorf("download %s: %w", at.Name, err)
	}
	if len(data) > maxDownload {
		return nil, fmt.Errorf("download %s: larger than %d bytes", at.Name, maxDownload)
	}
	return data, nil
}
