package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// checkStatus is the verdict of one check.
type checkStatus string

// The verdicts; only statusFail makes `kimibot check` exit 1.
const (
	statusOK   checkStatus = "ok"
	statusInfo checkStatus = "info"
	statusWarn checkStatus = "warn"
	statusFail checkStatus = "fail"
)

// checkResult is one row of the check table.
type checkResult struct {
	Name   string
	Status checkStatus
	Detail string
	// Fix says what to do when the status is not ok.
	Fix string
}

// checkTimeout bounds one request of a check.
const checkTimeout = 10 * time.Second

// checker runs the checks of `kimibot check` and collects their results.
type checker struct {
	cfg     Config
	client  *http.Client
	results []checkResult
}

func (c *checker) add(name string, st checkStatus, detail, fix string) {
	c.results = append(c.results, checkResult{Name: name, Status: st, Detail: detail, Fix: fix})
}

func (c *checker) ok(name, detail string)        { c.add(name, statusOK, detail, "") }
func (c *checker) info(name, detail, fix string) { c.add(name, statusInfo, detail, fix) }
func (c *checker) warn(name, detail, fix string) { c.add(name, statusWarn, detail, fix) }
func (c *checker) fail(name, detail, fix string) { c.add(name, statusFail, detail, fix) }

// runCheck is `kimibot check`: it checks the configuration against the
// services it names and prints a table. It exits 0 only when no check fails.
func runCheck(ctx context.Context, stdout, stderr io.Writer) int {
	cfg, err := LoadConfig(ModeServe)
	if err != nil {
		fmt.Fprintf(stderr, "kimibot: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	c := &checker{cfg: cfg, client: &http.Client{Timeout: checkTimeout}}
	c.checkModel(ctx)
	if cfg.SlackBotToken != "" {
		c.checkSlack(ctx)
	}
	if cfg.DiscordBotToken != "" {
		c.checkDiscord(ctx)
	}
	c.checkOrders(ctx)
	c.checkMCP(ctx)
	c.checkDatabase(ctx)
	c.checkAccess(ctx)
	c.print(stdout)
	for _, r := range c.results {
		if r.Status == statusFail {
			return 1
		}
	}
	return 0
}

// print writes the table, with every configured secret masked in case a
// service echoed one back.
func (c *checker) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STATUS\tCHECK\tRESULT")
	counts := map[checkStatus]int{}
	for _, r := range c.results {
		counts[r.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Status, r.Name, c.mask(r.Detail))
		if r.Fix != "" && r.Status != statusOK {
			fmt.Fprintf(tw, "\t\t  fix: %s\n", c.mask(r.Fix))
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%d ok, %d info, %d warn, %d fail\n", counts[statusOK], counts[statusInfo], counts[statusWarn],
		counts[statusFail])
}

// mask replaces every configured secret in s.
func (c *checker) mask(s string) string {
	for _, secret := range []string{c.cfg.APIKey, c.cfg.SlackBotToken, c.cfg.SlackAppToken, c.cfg.SlackSigningSecret,
		c.cfg.DiscordBotToken, c.cfg.OrdersAPIToken} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[secret]")
		}
	}
	return s
}

// getJSON sends a request with the header auth and decodes a JSON answer
// into v. It returns the HTTP status and headers; a status of 0 means no answer.
func (c *checker) getJSON(ctx context.Context, method, target, auth string, v any) (int, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if ue := (*url.Error)(nil); errors.As(err, &ue) {
		err = ue.Err // the URL is quoted once below
	}
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, req.URL.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, resp.Header, fmt.Errorf("read answer: %w", err)
	}
	if v != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(body, v); err != nil {
			return resp.StatusCode, resp.Header, fmt.Errorf("decode answer: %w", err)
		}
	}
	return resp.StatusCode, resp.Header, nil
}
