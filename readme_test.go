package notify_test

import (
	"encoding/json"
	"fmt"
	"go/doc/comment"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The quick start of the README, the first Go block that is a whole
// program, is gofmt-clean and compiles against this module as it is, so
// that a new user can paste it and run it.
func TestReadmeQuickStartCompiles(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	program, ok := readmeQuickStart(string(readme))
	if !ok {
		t.Fatal("README.md has no ```go block that starts with \"package main\"")
	}
	if formatted, err := format.Source([]byte(program)); err != nil || string(formatted) != program {
		t.Errorf("the quick start is not gofmt-clean (%v); gofmt makes it:\n%s", err, formatted)
	}

	// Build it as a package of this module, so that it imports this
	// module's code: an overlay puts the file, kept in a temporary
	// directory, at a path inside the module where nothing is on disk.
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.Getwd() // the module root, where this file is
	if err != nil {
		t.Fatal(err)
	}
	const pkg = "testdata/readme/quickstart"
	overlay, err := json.Marshal(map[string]any{"Replace": map[string]string{filepath.Join(root, pkg, "main.go"): src}})
	if err != nil {
		t.Fatal(err)
	}
	overlayFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(overlayFile, overlay, 0o644); err != nil {
		t.Fatal(err)
	}
	goTool, err := exec.LookPath("go") // go test puts its own go first in PATH
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool, "build", "-overlay", overlayFile, "-o", filepath.Join(dir, "quickstart"), "./"+pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the quick start does not compile: %v\n%s\n%s", err, out, readmeLineNumbers(program))
	}
}

// The program of the package doc is the quick start of the README, to the
// letter, so that the two never tell different stories (and the README's
// is compiled by TestReadmeQuickStartCompiles).
func TestDocProgramIsReadmeQuickStart(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	want, ok := readmeQuickStart(string(readme))
	if !ok {
		t.Fatal("README.md has no quick start")
	}
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	for _, b := range new(comment.Parser).Parse(f.Doc.Text()).Content {
		if code, ok := b.(*comment.Code); ok && strings.HasPrefix(code.Text, "package main\n") {
			got = code.Text
		}
	}
	if got != want {
		t.Errorf("the program of doc.go is not the README's quick start:\n%s\nwant:\n%s", got, want)
	}
}

// readmeQuickStart returns the first ```go block of readme that starts with
// "package main".
func readmeQuickStart(readme string) (string, bool) {
	var block strings.Builder
	in := false
	for line := range strings.Lines(readme) {
		switch {
		case !in && strings.TrimSpace(line) == "```go":
			in = true
			block.Reset()
		case in && strings.TrimSpace(line) == "```":
			in = false
			if strings.HasPrefix(block.String(), "package main\n") {
				return block.String(), true
			}
		case in:
			block.WriteString(line)
		}
	}
	return "", false
}

// readmeLineNumbers returns src with line numbers, to read compiler errors by.
func readmeLineNumbers(src string) string {
	var b strings.Builder
	i := 0
	for line := range strings.Lines(src) {
		i++
		fmt.Fprintf(&b, "%3d  %s", i, line)
	}
	return b.String()
}
