package slacktest

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// User is a workspace member users.info knows.
type User struct {
	ID, Name, RealName string
	IsBot              bool
}

// AddUser makes users.info answer for u.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

func (s *Server) userInfoLocked(p url.Values) reply {
	u, ok := s.users[p.Get("user")]
	if !ok {
		return fail("user_not_found")
	}
	return reply{fields: map[string]any{"user": map[string]any{
		"id": u.ID, "name": u.Name, "real_name": u.RealName, "is_bot": u.IsBot,
		"profile": map[string]any{"real_name": u.RealName, "display_name": u.Name},
	}}}
}

// File is an uploaded file as Slack describes it in message events.
type File struct {
	ID                 string `json:"id"`
	Name               string `json:"name"`
	Mimetype           string `json:"mimetype"`
	Filetype           string `json:"filetype"`
	Size               int    `json:"size"`
	URLPrivate         string `json:"url_private"`
	URLPrivateDownload string `json:"url_private_download"`
}

type file struct {
	mime string
	data []byte
}

// AddFile stores a file that only the bot token may download, and returns
// its description for a message event's "files".
func (s *Server) AddFile(name, mime string, data []byte) File {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	id := "F" + strconv.FormatInt(s.seq, 10)
	path := fmt.Sprintf("/files/%s/%s", id, url.PathEscape(name))
	s.files[path] = file{mime: mime, data: data}
	return File{ID: id, Name: name, Mimetype: mime, Filetype: "binary", Size: len(data),
		URLPrivate: s.URL() + path, URLPrivateDownload: s.URL() + path + "?download=1"}
}

// serveFile serves a private file to the bot token; anyone else is sent to
// the sign-in page, as files.slack.com does.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	f, found := s.files[r.URL.EscapedPath()]
	authorized := bearer(r) == s.opts.BotToken
	s.calls = append(s.calls, Call{Method: "files.download", Time: time.Now(), Params: url.Values{"path": {r.URL.Path}}, Status: http.StatusOK})
	s.notifyLocked()
	s.mu.Unlock()
	switch {
	case !found:
		http.NotFound(w, r)
	case !authorized:
		http.Redirect(w, r, "/signin?redir="+url.QueryEscape(r.URL.Path), http.StatusFound)
	default:
		w.Header().Set("Content-Type", f.mime)
		_, _ = w.Write(f.data)
	}
}

// serveSignIn is the page files.slack.com sends readers without access to.
func serveSignIn(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html")
	_, _ = w.Write([]byte("<html><body>Sign in to Slack</body></html>"))
}
