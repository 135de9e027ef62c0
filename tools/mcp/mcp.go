// Package mcp connects kimibot to Model Context Protocol servers through
// the official Go SDK, over stdio (a command kimibot starts) or streamable
// HTTP, and offers their tools to the model through the tools.Registry, so
// that they get the same argument validation, timeouts, result caps,
// logging and approval as the built-in tools.
package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"kimibot/tools"
)

// Server configures one MCP server: a command to start (stdio) or a URL
// (streamable HTTP).
type Server struct {
	// Name prefixes the server's tools ("<name>_<tool>").
	Name string `json:"name"`
	// Command is the program and its arguments, for a stdio server.
	Command []string `json:"command,omitempty"`
	// Env is added to the command's environment.
	Env map[string]string `json:"env,omitempty"`
	// EnvFiles name files whose trimmed content is an environment
	// variable's value, for secrets the command needs.
	EnvFiles map[string]string `json:"env_files,omitempty"`
	// URL is the endpoint of a streamable HTTP server.
	URL string `json:"url,omitempty"`
	// Headers are sent with every HTTP request; values are secrets and
	// never logged.
	Headers map[string]string `json:"-"`
	// HeaderFiles name files whose trimmed content is a header's value.
	HeaderFiles map[string]string `json:"header_files,omitempty"`
}

// namePart is what a server name may look like.
var namePart = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,19}$`)

// ParseServers reads KIMIBOT_MCP_SERVERS: a JSON array of servers, such as
// [{"name":"docs","url":"https://mcp.example.com/mcp","header_files":{"Authorization":"/run/secrets/docs"}},
// {"name":"fs","command":["mcp-server-filesystem","/srv/share"],"env_files":{"TOKEN":"/run/secrets/fs"}}].
// Header and environment files are read here.
func ParseServers(s string) ([]Server, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []Server
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("not a JSON array of servers: %w", err)
	}
	seen := map[string]bool{}
	for i := range out {
		if err := out[i].check(seen); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// check validates one server and reads its header files.
func (s *Server) check(seen map[string]bool) error {
	if !namePart.MatchString(s.Name) {
		return fmt.Errorf("server name %q: use letters, digits, _ and -, up to 20, starting with a letter", s.Name)
	}
	if seen[s.Name] {
		return fmt.Errorf("server name %q is used twice", s.Name)
	}
	seen[s.Name] = true
	if (len(s.Command) == 0) == (s.URL == "") {
		return fmt.Errorf("server %s: give either command or url", s.Name)
	}
	if s.URL != "" && !strings.HasPrefix(s.URL, "http://") && !strings.HasPrefix(s.URL, "https://") {
		return fmt.Errorf("server %s: url must start with http:// or https://", s.Name)
	}
	var err error
	if s.Headers, err = readFiles(s.Name, "header", s.HeaderFiles); err != nil {
		return err
	}
	secrets, err := readFiles(s.Name, "env", s.EnvFiles)
	if err != nil {
		return err
	}
	for k, v := range secrets {
		if s.Env == nil {
			s.Env = map[string]string{}
		}
		s.Env[k] = v
	}
	return nil
}

// readFiles reads secret values from files: name to path in, name to
// trimmed content out. Errors name the path, never the content.
func readFiles(server, kind string, paths map[string]string) (map[string]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(paths))
	for name, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("server %s: %s %s: cannot read %q", server, kind, name, path)
		}
		out[name] = strings.TrimSpace(string(b))
	}
	return out, nil
}

// Set is a group of connected MCP servers.
type Set struct {
	log      *slog.Logger
	sessions map[string]*sdk.ClientSession
}

// connectTimeout bounds starting and initializing one server.
const connectTimeout = 30 * time.Second

// Connect starts or reaches every server and initializes its session. On
// a failure the sessions opened so far are closed.
func Connect(ctx context.Context, servers []Server, log *slog.Logger) (*Set, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	set := &Set{log: log.With("component", "mcp"), sessions: map[string]*sdk.ClientSession{}}
	client := sdk.NewClient(&sdk.Implementation{Name: "kimibot", Version: "1"}, nil)
	for _, s := range servers {
		cctx, cancel := context.WithTimeout(ctx, connectTimeout)
		session, err := client.Connect(cctx, s.transport(), nil)
		cancel()
		if err != nil {
			set.Close()
			return nil, fmt.Errorf("connect to mcp server %s: %w", s.Name, err)
		}
		set.sessions[s.Name] = session
		set.log.Info("mcp server connected", "server", s.Name)
	}
	return set, nil
}

// transport returns the SDK transport for the server.
func (s Server) transport() sdk.Transport {
	if s.URL != "" {
		hc := &http.Client{Transport: &headerTransport{base: http.DefaultTransport, headers: s.Headers}}
		return &sdk.StreamableClientTransport{Endpoint: s.URL, HTTPClient: hc, DisableStandaloneSSE: true}
	}
	cmd := exec.Command(s.Command[0], s.Command[1:]...)
	cmd.Env = os.Environ()
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stderr = os.Stderr
	return &sdk.CommandTransport{Command: cmd}
}

// headerTransport adds the configured headers to every request.
type headerTransport struct {
	base    http.RoundTripper
	headers map[string]string
}

// RoundTrip sends req with the headers.
func (t *headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	return t.base.RoundTrip(req)
}

// Register lists each server's tools and registers them in reg under
// "<server>_<tool>". Tools the registry refuses (a name or schema Kimi
// would reject) are skipped with a warning; the rest still count.
func (s *Set) Register(ctx context.Context, reg *tools.Registry) ([]string, error) {
	var names []string
	for server, session := range s.sessions {
		for t, err := range session.Tools(ctx, nil) {
			if err != nil {
				return names, fmt.Errorf("list tools of mcp server %s: %w", server, err)
			}
			tool, err := newTool(server, session, t)
			if err == nil {
				err = reg.Register(tool)
			}
			if err != nil {
				s.log.Warn("mcp tool skipped", "server", server, "tool", t.Name, "err", err)
				continue
			}
			names = append(names, tool.spec.Name)
		}
	}
	return names, nil
}

// Close ends every session; stdio servers are stopped.
func (s *Set) Close() error {
	if s == nil {
		return nil
	}
	var errs []error
	for name, session := range s.sessions {
		if err := session.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close mcp server %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}
