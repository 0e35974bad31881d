package testbed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gcnotify/notify/bridge"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Contents is what a stream holds, notifications and lifecycle records
// counted apart.
type Contents struct {
	Msgs    int            // messages read
	Bodies  map[string]int // copies of each notification body
	Records map[string]int // lifecycle records by kind
}

// Duplicates returns the number of notification copies beyond the first.
func (c *Contents) Duplicates() int {
	n := 0
	for _, k := range c.Bodies {
		n += k - 1
	}
	return n
}

// Seqs returns how many copies of each synthetic sequence number of the
// run the stream holds.
func (c *Contents) Seqs(run string) map[int64]int {
	out := make(map[int64]int, len(c.Bodies))
	for b, k := range c.Bodies {
		if r, s, ok := SeqOf([]byte(b)); ok && r == run {
			out[s] += k
		}
	}
	return out
}

// ReadStream reads every message of the stream with an ordered consumer.
// Nothing should publish to the stream meanwhile.
func ReadStream(ctx context.Context, nc *nats.Conn, stream string) (*Contents, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return nil, err
	}
	total := int(info.State.Msgs)
	c := &Contents{Bodies: make(map[string]int, total), Records: map[string]int{}}
	if total == 0 {
		return c, nil
	}
	cons, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, err
	}
	for c.Msgs < total {
		if err := ctx.Err(); err != nil {
			return c, fmt.Errorf("testbed: read %d of %d messages: %w", c.Msgs, total, err)
		}
		batch, err := cons.Fetch(min(1000, total-c.Msgs), jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			return c, err
		}
		for m := range batch.Messages() {
			c.Msgs++
			subj := m.Subject()
			if strings.HasPrefix(subj, bridge.LifecyclePrefix+".") {
				c.Records[subj[strings.LastIndexByte(subj, '.')+1:]]++
			} else {
				c.Bodies[string(m.Data())]++
			}
		}
		if err := batch.Error(); err != nil && err != nats.ErrTimeout {
			return c, err
		}
	}
	return c, nil
}

// Count returns how many notifications and lifecycle records the stream
// holds, from its info.
func Count(ctx context.Context, js jetstream.JetStream, stream string) (events, records uint64, err error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return 0, 0, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(bridge.LifecyclePrefix+".>"))
	if err != nil {
		return 0, 0, err
	}
	for _, k := range info.State.Subjects {
		records += k
	}
	return info.State.Msgs - records, records, nil
}
