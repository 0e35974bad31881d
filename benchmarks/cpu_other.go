//go:build !unix

package main

import "time"

// cpuTime is not measured on this platform: CPU columns read n/a.
func cpuTime() time.Duration { return 0 }
