package notify

import (
	"maps"
	"slices"

	"github.com/gcnotify/notify/internal/wire"
)

// resync reads the state of topics in a task, if the client takes
// snapshots and the protocol can, and delivers a Snapshot per topic read,
// then Resynced. It ends with l: the next connection reads again.
func (o *owner) resync(l *live, topics []string) {
	sr, ok := o.proto.(wire.StateReader)
	if !o.cfg.snapshots || !ok {
		return
	}
	o.task(func() {
		// Dated when the read starts: an event read meanwhile is newer.
		taken := o.clk.Now()
		read, skipped, err := sr.ReadState(l.ctx, topics)
		if l.ctx.Err() != nil {
			return
		}
		ev := Resynced{ChannelID: l.conn.ID(), Skipped: skipped, Err: public(err)}
		for _, t := range slices.Sorted(maps.Keys(read)) {
			o.out.push(Snapshot{Topic: t, Body: read[t], Taken: taken})
			ev.Topics = append(ev.Topics, t)
		}
		if err != nil {
			o.log.Warn("notify: reading state after a gap failed", "channel", l.conn.ID(), "skipped", len(skipped), "err", ev.Err)
		}
		o.cfg.trace.resynced(ev, o.clk.Now().Sub(taken))
		o.out.push(ev)
	})
}
