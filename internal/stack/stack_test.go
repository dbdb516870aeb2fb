package stack

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRepoRootFindsGoModAbove(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Dir(filepath.Dir(wd)); root != want {
		t.Errorf("RepoRoot from %s = %s, want %s", wd, root, want)
	}
}

func TestRepoRootOutsideARepository(t *testing.T) {
	t.Chdir(t.TempDir())
	if root, err := RepoRoot(); err == nil || !strings.Contains(err.Error(), "go.mod not found") {
		t.Errorf("RepoRoot in an empty folder = %q, %v; want go.mod not found", root, err)
	}
}

// Poll keeps the reason it is not done yet for its timeout, and stops at
// once on a final error.
func TestPoll(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := Poll(ctx, time.Millisecond, func(context.Context) (bool, error) { return false, errors.New("not yet") })
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not yet") {
		t.Errorf("timeout: %v", err)
	}
	calls := 0
	err = Poll(context.Background(), time.Millisecond, func(context.Context) (bool, error) {
		calls++
		return true, errors.New("never")
	})
	if err == nil || err.Error() != "never" || calls != 1 {
		t.Errorf("final error: %v after %d calls", err, calls)
	}
	if err := Poll(context.Background(), time.Millisecond, func(context.Context) (bool, error) { calls++; return calls > 3, nil }); err != nil {
		t.Errorf("done: %v", err)
	}
}
