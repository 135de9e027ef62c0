package tasks_test

import (
	"sync/atomic"
	"testing"

	"kimibot/internal/tasks"
)

func TestWaitReturnsWhenIdle(t *testing.T) {
	var g tasks.Group
	g.Wait()
}

func TestWaitWaitsForEveryTask(t *testing.T) {
	var g tasks.Group
	var done atomic.Int32
	release := make(chan struct{})
	for range 10 {
		g.Go(func() {
			<-release
			done.Add(1)
		})
	}
	waited := make(chan struct{})
	go func() {
		g.Wait()
		close(waited)
	}()
	select {
	case <-waited:
		t.Fatal("Wait returned while tasks ran")
	default:
	}
	close(release)
	<-waited
	if n := done.Load(); n != 10 {
		t.Fatalf("Wait returned after %d of 10 tasks", n)
	}
}

func TestAddWhileWaiting(t *testing.T) {
	var g tasks.Group
	g.Add(1)
	second := make(chan struct{})
	waited := make(chan struct{})
	go func() {
		g.Wait()
		close(waited)
	}()
	g.Go(func() { <-second })
	g.Done()
	select {
	case <-waited:
		t.Fatal("Wait returned while the second task ran")
	default:
	}
	close(second)
	<-waited
}
