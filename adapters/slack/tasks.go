package slack

import "sync"

// taskGroup counts the slow work started after acknowledgements. Unlike a
// sync.WaitGroup, Wait may run while new tasks are being added.
type taskGroup struct {
	mu   sync.Mutex
	n    int
	idle chan struct{}
}

// Add starts n tasks.
func (g *taskGroup) Add(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n == 0 {
		g.idle = make(chan struct{})
	}
	g.n += n
}

// Done ends one task.
func (g *taskGroup) Done() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
	if g.n == 0 {
		close(g.idle)
	}
}

// Wait returns once no task is running.
func (g *taskGroup) Wait() {
	g.mu.Lock()
	if g.n == 0 {
		g.mu.Unlock()
		return
	}
	ch := g.idle
	g.mu.Unlock()
	<-ch
}
