package conversation

import (
	"math"
	"sync"
	"unicode"
)

// Token estimation figures. They approximate Kimi's tokenizer; Observe
// corrects the overall scale from the usage the API reports.
const (
	// latinCharsPerToken is the average for Latin text, code and JSON.
	latinCharsPerToken = 3.5
	// otherRunesPerToken covers other alphabets (Cyrillic, Greek, Arabic…)
	// and symbols such as emoji. CJK runes are one token each.
	otherRunesPerToken = 2.0
	// ImageTokens is the fixed cost of one image.
	ImageTokens = 1024
	// messageOverheadTokens covers the role and the message framing.
	messageOverheadTokens = 4
	// observeWeight is the weight of a new observation in the moving average.
	observeWeight = 0.2
	minRatio      = 0.5
	maxRatio      = 2.0
)

// Estimator guesses how many prompt tokens messages will use, learning a
// correction factor from the usage the API reports. The zero value is ready
// to use, a nil *Estimator estimates without correction, and it is safe for
// concurrent use.
type Estimator struct {
	mu sync.Mutex
	// ratio is actual/estimated tokens; zero until the first observation.
	ratio float64
}

// Ratio returns the current correction factor, 1 before any observation.
func (e *Estimator) Ratio() float64 {
	if e == nil {
		return 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ratio == 0 {
		return 1
	}
	return e.ratio
}

// Observe corrects the estimator with the prompt tokens the API reported
// for a request that Estimate had put at estimated tokens. The factor moves
// by an exponential moving average and stays within [0.5, 2].
func (e *Estimator) Observe(estimated, actualPromptTokens int) {
	if e == nil || estimated <= 0 || actualPromptTokens <= 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	current := e.ratio
	if current == 0 {
		current = 1
	}
	sample := clampRatio(current * float64(actualPromptTokens) / float64(estimated))
	e.ratio = clampRatio(current + observeWeight*(sample-current))
}

// Estimate returns the estimated prompt tokens of msgs: the sum of
// EstimateMessage over them.
func (e *Estimator) Estimate(msgs []Message) int {
	ratio := e.Ratio()
	total := 0
	for _, m := range msgs {
		total += scaled(rawMessageTokens(m), ratio)
	}
	return total
}

// EstimateMessage returns the estimated tokens of one message: its text,
// reasoning, tool calls and images plus a small per-message overhead.
func (e *Estimator) EstimateMessage(m Message) int {
	return scaled(rawMessageTokens(m), e.Ratio())
}

// scaled applies the correction factor and rounds up.
func scaled(raw, ratio float64) int {
	return int(math.Ceil(raw * ratio))
}

func clampRatio(r float64) float64 {
	return min(max(r, minRatio), maxRatio)
}

// rawMessageTokens is the uncorrected estimate of one message.
func rawMessageTokens(m Message) float64 {
	t := float64(messageOverheadTokens)
	t += textTokens(m.Text) + textTokens(m.Reasoning) + textTokens(string(m.ReasoningDetails))
	t += textTokens(m.ToolName)
	for _, p := range m.Parts {
		switch p.Type {
		case PartImage:
			t += ImageTokens
		default:
			t += textTokens(p.Text)
		}
	}
	for _, c := range m.ToolCalls {
		t += textTokens(c.Name) + textTokens(c.Arguments)
	}
	return t
}

// textTokens estimates the tokens of s by counting its runes by class.
func textTokens(s string) float64 {
	var latin, cjk, other int
	for _, r := range s {
		switch {
		case r < 0x250: // Basic Latin through Latin Extended-B
			latin++
		case isCJK(r):
			cjk++
		default:
			other++
		}
	}
	return float64(latin)/latinCharsPerToken + float64(cjk) + float64(other)/otherRunesPerToken
}

// isCJK reports whether r is a Chinese, Japanese or Korean character or a
// full-width form, which tokenizers count about one token each.
func isCJK(r rune) bool {
	return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(r >= 0x3000 && r <= 0x303F) || (r >= 0xFF00 && r <= 0xFFEF)
}
