package tools

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Defaults applied by NewRegistry to zero Options fields.
const (
	DefaultTimeout        = 15 * time.Second
	DefaultMaxResultBytes = 16 << 10
)

// MaxTools is the most tools one request to Kimi may declare.
const MaxTools = 128

// Errors returned by Register and SetNeedsApproval.
var (
	ErrInvalidName   = errors.New("invalid tool name")
	ErrDuplicateTool = errors.New("duplicate tool name")
	ErrInvalidSchema = errors.New("invalid parameter schema")
	ErrTooManyTools  = errors.New("too many tools")
	ErrUnknownTool   = errors.New("unknown tool")
)

// namePattern is the tool name rule Kimi and OpenRouter accept.
var namePattern = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_-]{2,63}$`)

// Options configures a Registry.
type Options struct {
	// Timeout bounds each tool call; default 15s.
	Timeout time.Duration
	// MaxResultBytes caps the text returned to the model; default 16 KiB.
	// Longer results are cut at a UTF-8 boundary and end with a note
	// "… [truncated: N more bytes]", the whole staying within the cap.
	MaxResultBytes int
	// Logger receives panics, timeouts and tool failures; default discards.
	Logger *slog.Logger
}

// Registry holds the tools offered to the model, validates the model's
// arguments against each tool's JSON schema and runs calls safely. It is
// safe for concurrent use.
type Registry struct {
	opts Options
	log  *slog.Logger

	mu    sync.RWMutex
	tools map[string]*entry
}

// entry is one registered tool with its compiled schema.
type entry struct {
	tool   Tool
	spec   Spec
	schema *jsonschema.Schema
}

// NewRegistry returns an empty registry.
func NewRegistry(opts Options) *Registry {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxResultBytes <= 0 {
		opts.MaxResultBytes = DefaultMaxResultBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Registry{
		opts:  opts,
		log:   opts.Logger.With("component", "tools"),
		tools: make(map[string]*entry),
	}
}

// Register adds a tool. It rejects names Kimi would refuse, duplicates,
// parameter schemas that are not JSON object schemas or do not compile, and
// nested properties without a "type".
func (r *Registry) Register(t Tool) error {
	if t == nil {
		return fmt.Errorf("register tool: %w: nil tool", ErrInvalidName)
	}
	spec := t.Spec()
	if !namePattern.MatchString(spec.Name) {
		return fmt.Errorf("register tool %q: %w: must match %s", spec.Name, ErrInvalidName, namePattern)
	}
	schema, params, err := compileSchema(spec.Name, spec.Parameters)
	if err != nil {
		return fmt.Errorf("register tool %s: %w", spec.Name, err)
	}
	spec.Parameters = params

	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tools[spec.Name]; ok {
		return fmt.Errorf("register tool %s: %w", spec.Name, ErrDuplicateTool)
	}
	if len(r.tools) >= MaxTools {
		return fmt.Errorf("register tool %s: %w: at most %d", spec.Name, ErrTooManyTools, MaxTools)
	}
	r.tools[spec.Name] = &entry{tool: t, spec: spec, schema: schema}
	return nil
}

// Specs returns every tool's Spec sorted by name, with the approval flag
// as last set by SetNeedsApproval.
func (r *Registry) Specs() []Spec {
	r.mu.RLock()
	specs := make([]Spec, 0, len(r.tools))
	for _, e := range r.tools {
		s := e.spec
		s.Parameters = bytes.Clone(s.Parameters)
		specs = append(specs, s)
	}
	r.mu.RUnlock()
	slices.SortFunc(specs, func(a, b Spec) int { return strings.Compare(a.Name, b.Name) })
	return specs
}

// Lookup returns the tool registered under name.
func (r *Registry) Lookup(name string) (Tool, bool) {
	e, ok := r.entry(name)
	if !ok {
		return nil, false
	}
	return e.tool, true
}

// SetNeedsApproval sets whether calls to the named tool wait for a human
// approver. It overrides the tool's own Spec.NeedsApproval.
func (r *Registry) SetNeedsApproval(name string, v bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.tools[name]
	if !ok {
		return fmt.Errorf("set approval for %q: %w", name, ErrUnknownTool)
	}
	e.spec.NeedsApproval = v
	return nil
}

// Describe returns a short status line for users while the named tool runs:
// the tool's own description when it implements Describer, else
// "running <name>".
func (r *Registry) Describe(name, args string) (line string) {
	fallback := "running a tool"
	if namePattern.MatchString(name) {
		fallback = "running " + name
	}
	e, ok := r.entry(name)
	if !ok {
		return fallback
	}
	d, ok := e.tool.(Describer)
	if !ok {
		return fallback
	}
	defer func() {
		if v := recover(); v != nil {
			r.log.Error("tool describe panicked", "tool", name, "panic", v)
			line = fallback
		}
	}()
	if s := d.Describe([]byte(args)); s != "" {
		return s
	}
	return fallback
}

func (r *Registry) entry(name string) (*entry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.tools[name]
	return e, ok
}

// names lists the registered tool names in order.
func (r *Registry) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.tools))
	for n := range r.tools {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
