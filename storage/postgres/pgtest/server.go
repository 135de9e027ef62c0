// Package pgtest starts a throwaway PostgreSQL server for tests: initdb
// into a temporary directory and postgres on a free loopback port, run as
// an unprivileged user when the tests run as root. Each test gets its own
// database on the server its test binary shares.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names an existing server to use instead of starting one, as a
// postgres:// URL of a user that may create databases.
const EnvURL = "KIMIBOT_TEST_POSTGRES"

// Server is a PostgreSQL server started for tests.
type Server struct {
	// Admin is the URL of the server's "postgres" database.
	Admin string
	dir   string
	cmd   *exec.Cmd
	// exited is closed when the server process has exited.
	exited chan struct{}
	n      atomic.Int64
}

var (
	shared   *Server
	startErr error
	once     sync.Once
)

// Main runs a test binary's tests with a shared server, started on first
// use, and stops it afterwards. Call it from TestMain: os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if shared != nil {
		shared.Stop()
	}
	return code
}

// Shared returns the test binary's server, starting it on the first call.
func Shared() (*Server, error) {
	once.Do(func() {
		if url := os.Getenv(EnvURL); url != "" {
			shared = &Server{Admin: url}
			return
		}
		shared, startErr = Start()
	})
	return shared, startErr
}

// MustDatabase creates a new, empty schema on the shared server and
// returns its URL. The test is skipped, with the reason, when no server
// can be started here.
func MustDatabase(tb testing.TB) string {
	tb.Helper()
	s, err := Shared()
	if err != nil {
		tb.Skipf("no PostgreSQL server for this test: %v", err)
	}
	url, err := s.NewDatabase(context.Background())
	if err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	return url
}

// NewDatabase creates a new, empty schema in the server's database and
// returns a URL whose connections use it: as cheap as a new database, and
// as separate for kimibot's tables.
func (s *Server) NewDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("kimibot_test_%d_%d", os.Getpid(), s.n.Add(1))
	conn, err := pgx.Connect(ctx, s.Admin)
	if err != nil {
		return "", fmt.Errorf("connect to test server: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		return "", fmt.Errorf("create schema %s: %w", name, err)
	}
	cfg, err := pgx.ParseConfig(s.Admin)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("postgres://%s@%s/%s?sslmode=disable&search_path=%s", cfg.User,
		net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), cfg.Database, name), nil
}

// Start initializes a cluster in a temporary directory and starts a server
// on a free loopback port, waiting until it accepts connections.
func Start() (*Server, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	cred, err := runAs()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "kimibot-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{dir: dir}
	if err := s.start(bin, cred); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) start(bin string, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("hand the data directory to the server's user: %w", err)
		}
	}
	data := filepath.Join(s.dir, "data")
	initdb := command(cred, s.dir, filepath.Join(bin, "initdb"), "-D", data, "-U", "kimibot", "-A", "trust",
		"--no-sync", "-E", "UTF8", "--no-locale")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, out)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.cmd = command(cred, s.dir, filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300")
	log, err := os.Create(filepath.Join(s.dir, "server.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	s.cmd.Stdout, s.cmd.Stderr = log, log
	s.cmd.SysProcAttr.Pdeathsig = syscall.SIGQUIT
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.exited = make(chan struct{})
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	s.Admin = fmt.Sprintf("postgres://kimibot@127.0.0.1:%d/postgres?sslmode=disable", port)
	return s.waitReady()
}

// waitReady polls the server until it accepts a connection or exits.
func (s *Server) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.Admin)
		cancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		select {
		case <-s.exited:
			out, _ := os.ReadFile(filepath.Join(s.dir, "server.log"))
			return fmt.Errorf("postgres exited: %s", out)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return errors.New("postgres did not accept connections within 60s")
}

// Stop kills the server and removes its directory.
func (s *Server) Stop() {
	if s.exited != nil {
		_ = s.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// command builds a command run as cred (nil: as this process) in dir.
func command(cred *syscall.Credential, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	return cmd
}

// runAs returns the unprivileged user to run the server as when this
// process is root (PostgreSQL refuses to run as root), or nil.
func runAs() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, errors.New("running as root and neither a postgres nor a nobody user exists")
}

// findBin returns the directory holding initdb and postgres: from PATH, or
// the newest /usr/lib/postgresql/*/bin.
func findBin() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(dirs, func(a, b string) int { return versionOf(b) - versionOf(a) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err == nil {
			return dir, nil
		}
	}
	return "", errors.New("initdb not found in PATH or /usr/lib/postgresql/*/bin (install the postgresql package)")
}

// versionOf reads the major version from /usr/lib/postgresql/N/bin.
func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// freePort returns a loopback TCP port nothing listens on now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
