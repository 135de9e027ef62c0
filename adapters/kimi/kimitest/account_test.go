package kimitest

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"testing"
)

type testFile struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Bytes     int    `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	Filename  string `json:"filename"`
	Purpose   string `json:"purpose"`
	Status    string `json:"status"`
}

// MustUpload posts a multipart upload and returns the answer.
func MustUpload(tb testing.TB, s *Server, name, purpose string, data []byte) result {
	tb.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		tb.Fatalf("create form file: %v", err)
	}
	if _, err := fw.Write(data); err != nil {
		tb.Fatalf("write form file: %v", err)
	}
	if err := mw.WriteField("purpose", purpose); err != nil {
		tb.Fatalf("write purpose: %v", err)
	}
	if err := mw.Close(); err != nil {
		tb.Fatalf("close multipart: %v", err)
	}
	req, _ := http.NewRequest(http.MethodPost, s.BaseURL()+"/files", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+s.APIKey())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("upload: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

func TestFiles(t *testing.T) {
	s := MustServer(t, Moonshot)
	text := []byte("Order A1001 shipped on Monday.\n")
	var f testFile
	r := MustUpload(t, s, "notes.txt", "file-extract", text)
	if r.Status != 200 {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	MustJSON(t, r.Body, &f)
	if f.ID == "" || f.Object != "file" || f.Bytes != len(text) || f.Filename != "notes.txt" ||
		f.Purpose != "file-extract" || f.Status != "ok" || f.CreatedAt == 0 {
		t.Fatalf("file = %+v", f)
	}

	var list struct {
		Object string     `json:"object"`
		Data   []testFile `json:"data"`
	}
	MustJSON(t, MustDo(t, s, http.MethodGet, "/v1/files", nil).Body, &list)
	if list.Object != "list" || len(list.Data) != 1 || list.Data[0] != f {
		t.Fatalf("list = %+v", list)
	}
	var got testFile
	MustJSON(t, MustDo(t, s, http.MethodGet, "/v1/files/"+f.ID, nil).Body, &got)
	if got != f {
		t.Errorf("get = %+v, want %+v", got, f)
	}

	var content struct{ Content, FileType, Filename, Title, Type string }
	MustJSON(t, MustDo(t, s, http.MethodGet, "/v1/files/"+f.ID+"/content", nil).Body, &content)
	if content.Content != string(text) || content.Filename != "notes.txt" || content.Type != "file" {
		t.Errorf("content = %+v", content)
	}

	var del struct {
		ID      string `json:"id"`
		Deleted bool   `json:"deleted"`
	}
	MustJSON(t, MustDo(t, s, http.MethodDelete, "/v1/files/"+f.ID, nil).Body, &del)
	if del.ID != f.ID || !del.Deleted {
		t.Errorf("delete = %+v", del)
	}
	for _, path := range []string{"/v1/files/" + f.ID, "/v1/files/" + f.ID + "/content"} {
		if e := MustError(t, MustDo(t, s, http.MethodGet, path, nil), 404); e.Error.Type != "resource_not_found_error" {
			t.Errorf("%s after delete: %+v", path, e.Error)
		}
	}
}

func TestFileUploadErrors(t *testing.T) {
	s := MustServer(t, Moonshot)
	e := MustError(t, MustUpload(t, s, "a.txt", "assistants", []byte("x")), 400)
	if e.Error.Message != "Invalid purpose: only 'file-extract' accepted" || e.Error.Type != "invalid_request_error" {
		t.Errorf("bad purpose: %+v", e.Error)
	}
	MustError(t, MustDo(t, s, http.MethodPost, "/v1/files", map[string]string{"purpose": "file-extract"}), 400)
}

func TestTokenizer(t *testing.T) {
	s := MustServer(t, Moonshot)
	count := func(text string) int {
		var out struct {
			Data struct {
				TotalTokens int `json:"total_tokens"`
			} `json:"data"`
		}
		r := MustDo(t, s, http.MethodPost, "/v1/tokenizers/estimate-token-count", body("kimi-k2.6", nil, user(text)))
		MustJSON(t, r.Body, &out)
		return out.Data.TotalTokens
	}
	short, long := count("hi"), count(string(bytes.Repeat([]byte("word "), 400)))
	if short <= 0 || long <= short {
		t.Errorf("token counts short=%d long=%d", short, long)
	}
	e := MustError(t, MustDo(t, s, http.MethodPost, "/v1/tokenizers/estimate-token-count",
		body("nope", nil, user("x"))), 404)
	if e.Error.Type != "resource_not_found_error" {
		t.Errorf("unknown model: %+v", e.Error)
	}
}

func TestBalance(t *testing.T) {
	s := MustServer(t, Moonshot)
	var b struct {
		Code int `json:"code"`
		Data struct {
			Available float64 `json:"available_balance"`
			Voucher   float64 `json:"voucher_balance"`
			Cash      float64 `json:"cash_balance"`
		} `json:"data"`
		Scode  string `json:"scode"`
		Status bool   `json:"status"`
	}
	MustJSON(t, MustDo(t, s, http.MethodGet, "/v1/users/me/balance", nil).Body, &b)
	if b.Code != 0 || b.Scode != "0x0" || !b.Status || b.Data.Available != b.Data.Voucher+b.Data.Cash {
		t.Errorf("balance = %+v", b)
	}
}

func TestKeyAndCredits(t *testing.T) {
	s := MustServer(t, OpenRouter)
	s.Enqueue(Response{Content: "a", Usage: &Usage{PromptTokens: 1, CompletionTokens: 1, Cost: 0.25}},
		Response{Content: "b", Usage: &Usage{PromptTokens: 1, CompletionTokens: 1, Cost: 0.5}})
	MustStream(t, s, body("moonshotai/kimi-k2", nil, user("x")))
	MustChat(t, s, body("moonshotai/kimi-k2", nil, user("x")))

	var key struct {
		Data struct {
			Label      string   `json:"label"`
			Limit      *float64 `json:"limit"`
			Usage      float64  `json:"usage"`
			IsFreeTier bool     `json:"is_free_tier"`
		} `json:"data"`
	}
	r := MustDo(t, s, http.MethodGet, "/api/v1/key", nil)
	MustJSON(t, r.Body, &key)
	if key.Data.Usage != 0.75 || key.Data.Limit != nil || key.Data.Label == "" {
		t.Errorf("key = %+v", key)
	}
	if bytes.Contains(r.Body, []byte(s.APIKey())) {
		t.Errorf("key endpoint leaks the key: %s", r.Body)
	}
	var credits struct {
		Data struct {
			TotalCredits float64 `json:"total_credits"`
			TotalUsage   float64 `json:"total_usage"`
		} `json:"data"`
	}
	MustJSON(t, MustDo(t, s, http.MethodGet, "/api/v1/credits", nil).Body, &credits)
	if credits.Data.TotalUsage != 0.75 || credits.Data.TotalCredits <= credits.Data.TotalUsage {
		t.Errorf("credits = %+v", credits)
	}
}
