package kimitest

// StoredFile is a file held by the fake's files API.
type StoredFile struct {
	ID, Filename, Purpose, ContentType string
	Data                               []byte
}

// Files returns the files currently stored, oldest first.
func (s *Server) Files() []StoredFile {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StoredFile, 0, len(s.files))
	for _, f := range s.files {
		out = append(out, StoredFile{ID: f.ID, Filename: f.Filename, Purpose: f.Purpose, ContentType: f.contentType,
			Data: f.data})
	}
	return out
}

// Uploads returns how many file uploads the fake has received.
func (s *Server) Uploads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Method == "POST" && r.Path == s.prefix()+"/files" {
			n++
		}
	}
	return n
}
