package kimitest

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"time"
)

// file is an uploaded file, kept in memory.
type file struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Bytes         int    `json:"bytes"`
	CreatedAt     int64  `json:"created_at"`
	Filename      string `json:"filename"`
	Purpose       string `json:"purpose"`
	Status        string `json:"status"`
	StatusDetails string `json:"status_details"`
	contentType   string
	data          []byte
}

// purposes are the upload purposes Moonshot accepts.
var purposes = []string{"file-extract", "image", "video"}

// handleFileUpload serves POST /v1/files (multipart `file` and `purpose`).
func (s *Server) handleFileUpload(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(32 << 20); err != nil {
		s.writeError(w, invalidRequest("Invalid request: "+err.Error()))
		return
	}
	if !slices.Contains(purposes, r.FormValue("purpose")) {
		s.writeError(w, invalidRequest("Invalid purpose: only 'file-extract' accepted"))
		return
	}
	part, hdr, err := r.FormFile("file")
	if err != nil {
		s.writeError(w, invalidRequest("Invalid request: file is required"))
		return
	}
	defer part.Close()
	data, err := io.ReadAll(part)
	if err != nil {
		s.writeError(w, invalidRequest("Invalid request: read file: "+err.Error()))
		return
	}
	ct := hdr.Header.Get("Content-Type")
	if ct == "" || ct == "application/octet-stream" {
		ct = http.DetectContentType(data)
	}
	f := &file{ID: randString(20), Object: "file", Bytes: len(data), CreatedAt: time.Now().Unix(),
		Filename: hdr.Filename, Purpose: r.FormValue("purpose"), Status: "ok", contentType: ct, data: data}
	s.mu.Lock()
	s.files = append(s.files, f)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, f)
}

func (s *Server) handleFileList(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	data := make([]file, 0, len(s.files))
	for _, f := range s.files {
		data = append(data, *f)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// findFile returns a copy of the file with the request's {id}, or writes a 404.
func (s *Server) findFile(w http.ResponseWriter, r *http.Request) (file, bool) {
	id := r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.files {
		if f.ID == id {
			return *f, true
		}
	}
	s.writeError(w, &APIError{Status: http.StatusNotFound, Type: "resource_not_found_error",
		Message: "file " + id + " not found"})
	return file{}, false
}

func (s *Server) handleFileGet(w http.ResponseWriter, r *http.Request) {
	if f, ok := s.findFile(w, r); ok {
		writeJSON(w, http.StatusOK, f)
	}
}

func (s *Server) handleFileDelete(w http.ResponseWriter, r *http.Request) {
	f, ok := s.findFile(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	s.files = slices.DeleteFunc(s.files, func(g *file) bool { return g.ID == f.ID })
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"id": f.ID, "object": "file", "deleted": true})
}

// handleFileContent serves the extracted text of a file as the JSON text
// clients paste into a system message.
func (s *Server) handleFileContent(w http.ResponseWriter, r *http.Request) {
	f, ok := s.findFile(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"content": string(f.data), "file_type": f.contentType,
		"filename": f.Filename, "title": "", "type": "file"})
}

// handleTokenCount serves POST /v1/tokenizers/estimate-token-count with
// the same estimate the fake reports as prompt_tokens.
func (s *Server) handleTokenCount(w http.ResponseWriter, r *http.Request) {
	var req ChatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.writeError(w, invalidRequest("Invalid request: "+err.Error()))
		return
	}
	if _, err := s.resolve(&req); err != nil {
		s.writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]int{"total_tokens": promptTokens(&req)}})
}

func (s *Server) handleBalance(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"code":   0,
		"data":   map[string]float64{"available_balance": 49.58, "voucher_balance": 46.58, "cash_balance": 3.0},
		"scode":  "0x0",
		"status": true,
	})
}

// Spent returns the cost of every OpenRouter answer served so far, as the
// key and credits endpoints report it.
func (s *Server) Spent() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent
}

// handleKey serves GET /api/v1/key. The label never contains the key.
func (s *Server) handleKey(w http.ResponseWriter, _ *http.Request) {
	spent := s.Spent()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{
		"label": "kimitest", "limit": nil, "limit_reset": nil, "limit_remaining": nil,
		"usage": spent, "usage_daily": spent, "usage_weekly": spent, "usage_monthly": spent,
		"is_free_tier": false, "is_provisioning_key": false,
	}})
}

func (s *Server) handleCredits(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]float64{
		"total_credits": 100.5, "total_usage": s.Spent(),
	}})
}
