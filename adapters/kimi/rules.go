package kimi

import "strings"

// modelRule is what kimibot knows about a model family's request rules.
// The live model list may say more (see Client.thinks); this table is the
// fallback and the only source for sampling rules.
type modelRule struct {
	// prefix matches model IDs without the OpenRouter vendor part
	// ("moonshotai/") or variant suffix (":exacto").
	prefix string
	// fixedSampling drops temperature, top_p and n: the provider rejects
	// any value but its own.
	fixedSampling bool
	// maxTemperature clamps the temperature when non-zero.
	maxTemperature float64
	// thinks is true when the model thinks by default, so assistant
	// tool-call messages must carry reasoning_content.
	thinks bool
	// toggle is true when the model takes a thinking object.
	toggle bool
	// thinkingLocked means thinking may not be disabled.
	thinkingLocked bool
	// effort means the model takes a top-level reasoning_effort (Moonshot)
	// of low, high or max.
	effort bool
}

// modelRules is the per-family table, matched by longest prefix.
var modelRules = []modelRule{
	{prefix: "moonshot-v1", maxTemperature: 1},
	{prefix: "kimi-k2"},
	{prefix: "kimi-k2-thinking", thinks: true, thinkingLocked: true},
	{prefix: "kimi-k2.5", fixedSampling: true, thinks: true, toggle: true},
	{prefix: "kimi-k2.6", fixedSampling: true, thinks: true, toggle: true},
	{prefix: "kimi-k2.7-code", fixedSampling: true, thinks: true, toggle: true, thinkingLocked: true},
	{prefix: "kimi-k3", fixedSampling: true, thinks: true, toggle: true, thinkingLocked: true, effort: true},
}

// defaultRule applies to models the table does not know: send what the
// caller asked for.
var defaultRule = modelRule{toggle: true}

// ruleFor returns the rule with the longest prefix matching the model ID.
func ruleFor(model string) modelRule {
	id := baseModelID(model)
	best := defaultRule
	for _, r := range modelRules {
		if strings.HasPrefix(id, r.prefix) && len(r.prefix) > len(best.prefix) {
			best = r
		}
	}
	return best
}

// baseModelID strips an OpenRouter alias marker, vendor and variant:
// "~moonshotai/kimi-k2:exacto" becomes "kimi-k2".
func baseModelID(model string) string {
	id := strings.TrimPrefix(model, "~")
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	if i := strings.IndexByte(id, ':'); i >= 0 {
		id = id[:i]
	}
	return id
}
