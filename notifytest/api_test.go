package notifytest_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	gotoken "go/token"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The package is a test double and nothing else: go doc shows no demo,
// terminal or credentials names, which belong to the example programs.
func TestAPIIsATestDouble(t *testing.T) {
	fset := gotoken.NewFileSet()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, "github.com/gcnotify/notify/notifytest")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range p.Funcs {
		names = append(names, f.Name)
	}
	for _, typ := range p.Types {
		names = append(names, typ.Name)
		for _, f := range append(typ.Funcs, typ.Methods...) {
			names = append(names, typ.Name+"."+f.Name)
		}
	}
	notDouble := regexp.MustCompile(`Demo|Screen|Terminal|^Credentials`)
	for _, name := range names {
		if notDouble.MatchString(name) {
			t.Errorf("notifytest exports %s", name)
		}
	}
	if len(names) < 10 {
		t.Fatalf("read only %q", names)
	}
}
