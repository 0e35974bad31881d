package notify

import (
	"context"
	"maps"
	"slices"

	"github.com/gcnotify/notify/internal/wire"
)

// resync reads the state of topics after cur's Connected, if the client
// takes snapshots and the protocol can, in a task that ends with l: the
// next connection reads again.
func (o *owner) resync(l *live, topics []string) {
	sr, ok := o.proto.(wire.StateReader)
	if !o.cfg.snapshots || !ok {
		return
	}
	o.task(func() { deliverState(l.ctx, sr, o.cfg, o.out, l.conn.ID(), topics) })
}

// resyncDropped reads again the state of the topics whose notifications
// a run of drops counted: from the consumer's side a Dropped is a gap like
// any other. The outbox calls it as it hands the Dropped on, so the
// Snapshots and the Resynced (with no ChannelID) come after it. The read
// runs in a goroutine of Run and ends with it.
func (c *Client) resyncDropped(topics []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g := c.run; g != nil && len(topics) > 0 {
		g.wg.Go(func() { deliverState(g.ctx, c.reader, &c.cfg, c.out, "", topics) })
	}
}

// deliverState reads the state of topics in bulk, within the budget, and
// delivers a Snapshot per topic read, then Resynced. Nothing is delivered
// if ctx ends first.
func deliverState(ctx context.Context, sr wire.StateReader, cfg *config, out *outbox, channel string, topics []string) {
	// Dated when the read starts: an event read meanwhile is newer.
	taken := cfg.clock.Now()
	read, skipped, err := sr.ReadState(ctx, topics)
	if ctx.Err() != nil {
		return
	}
	ev := Resynced{ChannelID: channel, Skipped: skipped, Err: public(err)}
	for _, t := range slices.Sorted(maps.Keys(read)) {
		out.push(Snapshot{Topic: t, Body: read[t], Taken: taken})
		ev.Topics = append(ev.Topics, t)
	}
	if err != nil {
		cfg.logger.Warn("notify: reading state after a gap failed", "channel", channel, "skipped", len(skipped), "err", ev.Err)
	}
	cfg.trace.resynced(ev, cfg.clock.Now().Sub(taken))
	out.push(ev)
}
