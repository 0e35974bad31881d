package notify

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/wire"
)

// changes is an owner's subscription change in flight: requests wait in
// the set until the change out returns; those that arrive meanwhile ride
// the next one.
type changes struct {
	phase   changePhase
	on      *live      // the connection the change or renewal out was sent on
	waiting []*request // in the set, not yet sent
	sending []*request // in the change out
	wait    *retryPolicy
	retry   clock.Timer // the next try of a failed change
}

// changePhase is where an owner's subscription change stands.
type changePhase int

const (
	changeIdle       changePhase = iota // nothing out
	changeSending                       // a change is out
	changeRenewing                      // a renewal is out
	changeBackingOff                    // a failed change waits for the retry timer
)

func (p changePhase) String() string {
	return [...]string{"idle", "sending", "renewing", "backing off"}[p]
}

// answerAll answers every request in the change, which is then idle.
func (ch *changes) answerAll(err error) {
	for _, r := range slices.Concat(ch.sending, ch.waiting) {
		r.answer(err)
	}
	ch.sending, ch.waiting = nil, nil
	ch.phase, ch.on = changeIdle, nil
	ch.retry.Reset(never)
}

// requeue puts the requests sent back in line, first.
func (ch *changes) requeue() {
	ch.waiting = append(ch.sending, ch.waiting...)
	ch.sending = nil
}

type changeResult struct {
	l        *live
	topics   []string
	rejected []wire.Rejection
	err      error
}

// serve applies requests to the set in the order they were routed. While
// connected, changes wait for the server's verdict; while not, they are
// answered at once and replayed on connect.
func (o *owner) serve(reqs []*request) {
	for _, r := range reqs {
		switch r.kind {
		case requestWithdraw:
			o.withdrawn(r.withdrawn)
		case requestRetire:
			o.retire(r)
		case requestChange:
			o.apply(r)
		case requestMove:
			o.apply(r)
			o.arrive(r.add)
		case requestSettle:
			o.settle(r.drained)
			r.answer(nil)
		}
	}
	o.send()
}

// apply puts a change into the set.
func (o *owner) apply(r *request) {
	if r.claim.Load() == withdrawn {
		return
	}
	for _, t := range r.add {
		if _, ok := o.want[t]; !ok {
			o.want[t] = struct{}{}
			r.added = append(r.added, t)
		}
	}
	for _, t := range r.remove {
		if _, ok := o.want[t]; ok {
			delete(o.want, t)
			r.removed = append(r.removed, t)
		}
	}
	if o.cur == nil {
		r.answer(nil)
	} else {
		o.chg.waiting = append(o.chg.waiting, r)
	}
}

// retire answers r once cur has read everything its server sent: the
// owner is about to stop.
func (o *owner) retire(r *request) {
	l := o.cur
	if o.phase != phaseServing {
		r.answer(errNotServing)
		return
	}
	o.task(func() { r.answer(o.readToEnd(l)) })
}

// errNotServing is why a channel retired while it had no connection, or
// none announced, could not be read to its end.
var errNotServing = errors.New("notify: the channel had no connection to read to its end")

// withdrawn takes back the change of a caller who gave up on it; its
// placement was undone already.
func (o *owner) withdrawn(r *request) {
	o.chg.waiting = slices.DeleteFunc(o.chg.waiting, func(q *request) bool { return q == r })
	o.chg.sending = slices.DeleteFunc(o.chg.sending, func(q *request) bool { return q == r })
	o.revert(r)
}

// revert undoes what a change did to the set.
func (o *owner) revert(r *request) {
	for _, t := range r.added {
		delete(o.want, t)
	}
	for _, t := range r.removed {
		o.want[t] = struct{}{}
	}
}

// send sends the set to the server if it differs from what cur holds.
func (o *owner) send() {
	l := o.cur
	if l == nil || l.why != nil || o.chg.phase != changeIdle {
		return // nothing to send on, or the change out carries it
	}
	var added, removed []string
	for t := range o.want {
		if _, ok := o.held[t]; !ok {
			added = append(added, t)
		}
	}
	for t := range o.held {
		if _, ok := o.want[t]; !ok {
			removed = append(removed, t)
		}
	}
	if len(added)+len(removed) == 0 {
		for _, r := range o.chg.waiting {
			r.answer(nil)
		}
		o.chg.waiting = nil
		o.announce()
		return
	}
	slices.Sort(added)
	slices.Sort(removed)
	o.chg.sending, o.chg.waiting = o.chg.waiting, nil
	o.chg.phase, o.chg.on = changeSending, l
	topics := o.want.sorted()
	o.task(func() {
		rej, err := l.conn.Change(l.ctx, topics, added, removed)
		o.report(changeResult{l: l, topics: topics, rejected: rej, err: err})
	})
}

// retryChange sends again a change that failed, once its wait is over.
func (o *owner) retryChange() {
	if o.chg.phase == changeBackingOff {
		o.chg.phase = changeIdle
		o.send()
	}
}

// renewal keeps cur from expiring; a change under way renews it anyway.
func (o *owner) renewal() {
	l := o.cur
	if l == nil {
		return
	}
	if o.chg.phase != changeIdle {
		o.renew.Reset(o.cfg.heartbeat / 2)
		return
	}
	o.chg.phase, o.chg.on = changeRenewing, l
	topics := o.held.sorted()
	o.task(func() {
		rej, err := l.conn.Renew(l.ctx)
		o.report(changeResult{l: l, topics: topics, rejected: rej, err: err})
	})
}

// changed takes the answer to a change or a renewal. One sent on a
// connection since lost was settled then.
func (o *owner) changed(r changeResult) error {
	if r.l != o.chg.on {
		return nil
	}
	renewal := o.chg.phase == changeRenewing
	o.chg.phase, o.chg.on = changeIdle, nil
	switch {
	case r.l != o.cur: // answered on a connection since replaced
		o.chg.requeue()
	case r.err == nil:
		o.confirmed(r, renewal)
	default:
		if err := o.changeFailed(r, renewal); err != nil {
			return err
		}
	}
	o.send()
	return nil
}

// confirmed takes a change the server made: each caller gets its verdict.
func (o *owner) confirmed(r changeResult, renewal bool) {
	if !renewal {
		o.held = setOf(r.topics)
	}
	rejected := o.reject(r.rejected)
	var added []string
	for _, req := range o.chg.sending {
		req.answer(verdict(req, rejected))
		for _, t := range req.added {
			if _, ok := o.held[t]; ok {
				added = append(added, t)
			}
		}
	}
	o.chg.sending = nil
	if o.phase == phaseServing && len(added) > 0 {
		o.resync(r.l, added) // topics added while connected start from their state too
	}
	o.chg.wait.reset()
	o.scheduleRenewal()
}

// changeFailed handles a change or renewal the server did not make. Only
// a gone session moves the set, with a reported gap.
func (o *owner) changeFailed(r changeResult, renewal bool) error {
	cl, after := wire.ClassOf(r.err)
	err := public(r.err)
	switch {
	case cl == wire.Permanent:
		o.chg.answerAll(err)
		return err
	case cl == wire.FreshSession || cl == wire.FreshToken:
		r.l.end(r.err)
		o.chg.requeue()
	case renewal:
		o.log.Warn("notify: renewing the connection failed", "channel", r.l.conn.ID(), "err", err)
		o.renew.Reset(o.cfg.backoffMax)
	case cl == wire.Refused:
		for _, req := range o.chg.sending {
			if req.claim.Load() == open {
				o.revert(req)
				o.host.unroute(o, req.added)
				o.host.reroute(o, req.removed)
			}
			req.answer(fmt.Errorf("notify: the server refused the subscription change: %w", err))
		}
		o.chg.sending = nil
	default: // transient or rate limited: again on the same connection
		wait := o.chg.wait.next(cl, after)
		o.log.Warn("notify: subscription change failed; retrying on the same connection", "channel", r.l.conn.ID(), "err", err, "retry_in", wait)
		o.chg.requeue()
		o.chg.phase = changeBackingOff
		o.chg.retry.Reset(wait)
	}
	return nil
}

// reject removes refused topics from the set and reports them.
func (o *owner) reject(rej []wire.Rejection) map[string]string {
	if len(rej) == 0 {
		return nil
	}
	reasons := make(map[string]string, len(rej))
	topics := make([]string, len(rej))
	for i, r := range rej {
		reasons[r.Topic] = r.Reason
		topics[i] = r.Topic
		delete(o.want, r.Topic)
		delete(o.held, r.Topic)
		o.log.Warn("notify: topic rejected", "topic", r.Topic, "reason", r.Reason, "missing", r.MissingPermissions)
		o.out.push(Rejected{Topic: r.Topic, Reason: r.Reason, MissingPermissions: r.MissingPermissions})
	}
	o.host.unroute(o, topics)
	return reasons
}

// verdict is a change's answer: an error naming its refused topics, or nil.
func verdict(r *request, rejected map[string]string) error {
	var errs []error
	for _, t := range r.added {
		if reason, ok := rejected[t]; ok {
			errs = append(errs, fmt.Errorf("%w: %s: %s", ErrRejected, t, reason))
		}
	}
	return errors.Join(errs...)
}
