package stack

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
