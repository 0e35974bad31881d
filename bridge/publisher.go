package bridge

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// errNATSDown is the publisher's error while the connection is down.
var errNATSDown = errors.New("bridge: not connected to NATS")

// reportEvery is how often the publisher logs while it cannot publish.
const reportEvery = 5 * time.Second

// flight is an entry of the publisher's window: a message on its way to
// the stream, in order.
type flight struct {
	msg   *nats.Msg
	note  bool      // a notification, not a record
	since time.Time // when it was read from the client
	ok    <-chan *jetstream.PubAck
	errc  <-chan error // ok and errc are nil while the message is not sent
	sent  int
	acked bool
}

// publisher drains the buffer into JetStream: up to max asynchronous
// publishes at once, each waited for; whatever fails is sent again, in
// order, after a backoff. It is one goroutine.
type publisher struct {
	cfg    *Config
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	buf    *buffer
	st     *counters
	wake   <-chan struct{} // signalled when the connection is (re)established
	runID  string
	seq    uint64    // lifecycle records published so far
	notes  uint64    // notifications taken from the buffer so far
	window []*flight // oldest first
	next   int       // window[:next] have been sent
	batch  []entry   // reused by fill

	streamOK     bool
	failingSince time.Time // zero while publishing works
	lastReport   time.Time
}

// run publishes until the buffer is closed and empty (nil) or ctx ends.
func (p *publisher) run(ctx context.Context) error {
	bo := backoff{min: 50 * time.Millisecond, max: 2 * time.Second}
	for {
		p.fill()
		if len(p.window) == 0 {
			if p.buf.drained() {
				return nil
			}
			select {
			case <-p.buf.ready:
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		err := p.send(ctx)
		if err == nil {
			err = p.await(ctx, &bo)
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.failed(err)
		if err := p.settle(ctx); err != nil {
			return err
		}
		if !bo.wait(ctx, p.wake) {
			return ctx.Err()
		}
	}
}

// fill drops the acknowledged head of the window and tops it up from the
// buffer.
func (p *publisher) fill() {
	for len(p.window) > 0 && p.window[0].acked {
		p.window[0] = nil
		p.window = p.window[1:]
		p.next = max(p.next-1, 0)
	}
	room := p.cfg.MaxInFlight - len(p.window)
	if room <= 0 {
		return
	}
	p.batch = p.buf.popN(p.batch[:0], room)
	for i, e := range p.batch {
		p.batch[i] = entry{}
		f := &flight{since: time.Now()}
		if e.rec != nil {
			p.seq++
			f.msg = recordMsg(*e.rec, p.runID, p.seq)
		} else {
			p.notes++
			f.msg, f.note, f.since = notificationMsg(e.note, p.cfg.Replica, p.deliveryID), true, e.note.Received
			p.st.inflight.Add(1)
		}
		p.window = append(p.window, f)
	}
}

// deliveryID returns the id of the notification taken last, for one
// without a shared id.
func (p *publisher) deliveryID() string { return DeliveryID(p.cfg.Replica, p.runID, p.notes) }

// send publishes the messages of the window that are not on their way.
func (p *publisher) send(ctx context.Context) error {
	if !p.nc.IsConnected() {
		return errNATSDown
	}
	if !p.streamOK {
		if err := p.ensureStream(ctx); err != nil {
			return err
		}
		p.streamOK = true
	}
	for ; p.next < len(p.window); p.next++ {
		f := p.window[p.next]
		if f.acked || f.ok != nil {
			continue
		}
		fut, err := p.js.PublishMsgAsync(f.msg)
		if permanent(err) {
			p.refuse(f, err)
			continue
		}
		if err != nil {
			return err
		}
		f.ok, f.errc = fut.Ok(), fut.Err()
		f.sent++
		if f.sent > 1 {
			p.st.retries.Add(1)
		} else if f.note && !f.since.IsZero() && time.Since(f.since) > p.cfg.Stream.Duplicates {
			p.st.stale.Add(1)
		}
	}
	return nil
}

// await waits for the head of the window to be acknowledged, or for more
// to send while the window has room.
func (p *publisher) await(ctx context.Context, bo *backoff) error {
	head := p.window[0]
	if head.acked { // refused by send: fill drops it
		return nil
	}
	var ready <-chan struct{}
	if len(p.window) < p.cfg.MaxInFlight {
		ready = p.buf.ready
	}
	select {
	case ack := <-head.ok:
		p.done(head, ack)
		bo.reset()
		p.recovered()
		return nil
	case err := <-head.errc:
		head.ok, head.errc = nil, nil
		if permanent(err) {
			p.refuse(head, err)
			return nil
		}
		return err
	case <-ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// settle waits until every message of the window that is on its way is
// acknowledged or failed, so that the failed ones can be sent again in
// order.
func (p *publisher) settle(ctx context.Context) error {
	for _, f := range p.window {
		if f.ok == nil || f.acked {
			continue
		}
		select {
		case ack := <-f.ok:
			p.done(f, ack)
		case err := <-f.errc:
			f.ok, f.errc = nil, nil
			if permanent(err) {
				p.refuse(f, err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.next = 0
	return nil
}

// done records the acknowledgement of f.
func (p *publisher) done(f *flight, ack *jetstream.PubAck) {
	f.acked, f.ok, f.errc = true, nil, nil
	if !f.note {
		p.st.records.Add(1)
		return
	}
	p.st.inflight.Add(-1)
	if ack.Duplicate {
		p.st.duplicates.Add(1)
	} else {
		p.st.published.Add(1)
	}
}

// permanent reports whether a publishing error will not go away by
// publishing the same message again: it is too large for the server or
// the stream.
func permanent(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, nats.ErrMaxPayload) ||
		errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamMessageExceedsMaximum
}

// refuse gives up on f, which NATS refused for good, so that it does not
// hold up the rest.
func (p *publisher) refuse(f *flight, err error) {
	f.acked, f.ok, f.errc = true, nil, nil
	p.st.setErr(err)
	p.log.Error("bridge: NATS refused a message for good, skipping it", "subject", f.msg.Subject,
		"msgId", f.msg.Header.Get(jetstream.MsgIDHeader), "bytes", len(f.msg.Data), "err", err)
	if f.note {
		p.st.inflight.Add(-1)
		p.st.refused.Add(1)
	}
}

// failed records a publishing failure and logs it, at most every
// reportEvery while it lasts.
func (p *publisher) failed(err error) {
	p.st.setErr(err)
	if errors.Is(err, jetstream.ErrNoStreamResponse) {
		p.streamOK = false // the stream or JetStream is gone: create it again
	}
	now := time.Now()
	held, dropped, _ := p.buf.counts()
	held += int(p.st.inflight.Load())
	switch {
	case p.failingSince.IsZero():
		p.failingSince, p.lastReport = now, now
		p.log.Warn("bridge: cannot publish to JetStream, buffering", "err", err, "held", held)
	case now.Sub(p.lastReport) >= reportEvery:
		p.lastReport = now
		p.log.Warn("bridge: still buffering", "for", now.Sub(p.failingSince).Round(time.Millisecond),
			"held", held, "dropped", dropped, "err", err)
	}
}

// recovered logs the end of a failure.
func (p *publisher) recovered() {
	if p.failingSince.IsZero() {
		return
	}
	held, dropped, _ := p.buf.counts()
	p.log.Info("bridge: publishing resumed", "after", time.Since(p.failingSince).Round(time.Millisecond),
		"held", held+int(p.st.inflight.Load()), "dropped", dropped)
	p.failingSince = time.Time{}
}

// unsent returns the notifications of the window that were not
// acknowledged.
func (p *publisher) unsent() int {
	n := 0
	for _, f := range p.window {
		if f.note && !f.acked {
			n++
		}
	}
	return n
}

// unsentRecords returns the lifecycle records of the window that were not
// acknowledged.
func (p *publisher) unsentRecords() int {
	n := 0
	for _, f := range p.window {
		if !f.note && !f.acked {
			n++
		}
	}
	return n
}

// ensureStream creates the stream or updates its configuration.
func (p *publisher) ensureStream(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := p.js.CreateOrUpdateStream(ctx, streamConfig(p.cfg.Stream))
	if err != nil {
		p.log.Error("bridge: cannot create or update the stream", "stream", p.cfg.Stream.Name, "err", err)
		return err
	}
	return nil
}

// streamConfig returns the JetStream configuration of the stream.
func streamConfig(s StreamConfig) jetstream.StreamConfig {
	unlimited := func(n int64) int64 {
		if n == 0 {
			return -1
		}
		return n
	}
	return jetstream.StreamConfig{
		Name:        s.Name,
		Description: "Genesys Cloud notifications, written by gcnotify bridges",
		Subjects:    []string{SubjectPrefix + ".>"},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		Duplicates:  s.Duplicates,
		MaxAge:      s.MaxAge,
		MaxBytes:    unlimited(s.MaxBytes),
		MaxMsgs:     unlimited(s.MaxMsgs),
		Replicas:    s.Replicas,
	}
}

// backoff is a doubling delay between publishing attempts.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) reset() { b.cur = 0 }

// wait waits for the next delay, or less if the connection comes back. It
// returns false if ctx ended.
func (b *backoff) wait(ctx context.Context, wake <-chan struct{}) bool {
	b.cur = min(max(b.cur*2, b.min), b.max)
	t := time.NewTimer(b.cur)
	defer t.Stop()
	select {
	case <-t.C:
	case <-wake:
	case <-ctx.Done():
		return false
	}
	return true
}
