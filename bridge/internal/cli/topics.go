package cli

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// readTopicsFile returns the topics of a file: one per line; blank lines
// and everything from a "#" on are ignored.
func readTopicsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	topics, err := parseTopics(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return topics, nil
}

func parseTopics(r io.Reader) ([]string, error) {
	var topics []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		if line = strings.TrimSpace(line); line != "" {
			topics = append(topics, line)
		}
	}
	return topics, sc.Err()
}
