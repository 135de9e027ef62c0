package kimi

import (
	"reflect"
	"testing"

	"kimibot/bot"
)

// deltaCorpus are events for the fast path: the ones it takes and the
// ones it must leave to the full decoder.
var deltaCorpus = []struct {
	payload string
	fast    bool
}{
	{`{"id":"c-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}`, true},
	{`{"id":"c-1","object":"chat.completion.chunk","created":1,"model":"kimi-k2.6","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}`, true},
	{`{"id":"c-1","model":"kimi-k2.6","choices":[{"index":0,"delta":{"content":"line\nnext \"quoted\" \u00e9 \ud83d\ude00 \/"},"finish_reason":null}]}`, true},
	{`{"id":"c-1","model":"kimi-k2.6","choices":[{"index":0,"delta":{"reasoning_content":"Need weather."},"finish_reason":null}]}`, true},
	{`{"id":"g-1","model":"moonshotai/kimi-k2.5","provider":"Moonshot AI","choices":[{"index":0,"delta":{"content":"Hel","reasoning":"r"},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}`, true},
	{` { "model" : "m2" , "choices" : [ { "index" : 0 , "delta" : { "content" : "spaced" } } ] , "x" : {"a":[1,2.5e3,true,false,null,"s"]} } `, true},
	{`{"model":"kimi","choices":[]}`, true},
	{"{\"model\":\"kimi\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"bad \xff utf8\"}}]}", true},
	{`{"model":"kimi","choices":[{"index":0,"delta":{"content":null,"tool_calls":null}}]}`, true},
	// Left to the full decoder.
	{`{"model":"kimi","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t:0","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}`, false},
	{`{"model":"kimi","choices":[{"index":0,"delta":{"content":"end"},"finish_reason":"stop"}]}`, false},
	{`{"model":"kimi","choices":[{"index":1,"delta":{"content":"other choice"}}]}`, false},
	{`{"model":"kimi","choices":[{"index":0,"delta":{"Content":"case"}}]}`, false},
	{`{"Model":"other","choices":[{"index":0,"delta":{"content":"x"}}]}`, false},
	{`{"model":"kimi","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`, false},
	{`{"model":"kimi","error":{"code":502,"message":"gone"},"choices":[{"index":0,"delta":{"content":""},"finish_reason":"error"}]}`, false},
	{`{"model":"kimi","choices":[{"index":0,"delta":{"reasoning_details":[{"type":"reasoning.text","text":"T"}]}}]}`, false},
	{`{"model":"kimi","choices":[{"index":0,"delta":{"content":"x"}}]} trailing`, false},
	{`{"model":"kimi","choices":[{"index":0,"delta":{"content":"unterminated}}]}`, false},
}

// TestDecodeDeltaMatchesFullDecoding checks that the fast path takes the
// plain text events, leaves the others alone, and that decodeChunk gives
// the same chunks, errors and completion as the full decoder for all.
func TestDecodeDeltaMatchesFullDecoding(t *testing.T) {
	for _, tc := range deltaCorpus {
		var probe accumulator
		if _, fast := decodeDelta([]byte(tc.payload), &probe, nil); fast != tc.fast {
			t.Errorf("fast path took %q: %v, want %v", tc.payload, fast, tc.fast)
		}
		if !tc.fast && !reflect.DeepEqual(probe, accumulator{}) {
			t.Errorf("fast path changed the state before leaving %q", tc.payload)
		}
		assertSameDecoding(t, tc.payload)
	}
	// Whole streams, chunk after chunk on one accumulator.
	for _, stream := range [][]string{moonshotToolStream, openRouterStream} {
		var full, fast accumulator
		outFull, outFast := MustDecodeFull(t, &full, stream...), MustDecode(t, &fast, stream...)
		if !reflect.DeepEqual(outFull, outFast) || !reflect.DeepEqual(full.completion(), fast.completion()) {
			t.Errorf("stream decodes differently: %+v / %+v", outFast, outFull)
		}
	}
}

// MustDecodeFull is MustDecode through the full decoder only.
func MustDecodeFull(tb testing.TB, acc *accumulator, payloads ...string) []bot.Chunk {
	tb.Helper()
	var out []bot.Chunk
	for _, p := range payloads {
		var err error
		if out, err = decodeFull([]byte(p), acc, out); err != nil {
			tb.Fatalf("decode %s: %v", p, err)
		}
	}
	return out
}

func assertSameDecoding(t *testing.T, payload string) {
	t.Helper()
	full, fast := accumulator{model: "start"}, accumulator{model: "start"}
	outFull, errFull := decodeFull([]byte(payload), &full, nil)
	outFast, errFast := decodeChunk([]byte(payload), &fast, nil)
	if !reflect.DeepEqual(outFull, outFast) || (errFull == nil) != (errFast == nil) ||
		!reflect.DeepEqual(full.completion(), fast.completion()) {
		t.Errorf("%q decodes to %+v, %v; the full decoder gives %+v, %v", payload, outFast, errFast, outFull, errFull)
	}
}

// FuzzDecodeDelta checks that decodeChunk, fast path or not, decodes any
// payload as the full decoder does.
func FuzzDecodeDelta(f *testing.F) {
	for _, tc := range deltaCorpus {
		f.Add(tc.payload)
	}
	f.Fuzz(func(t *testing.T, payload string) { assertSameDecoding(t, payload) })
}
