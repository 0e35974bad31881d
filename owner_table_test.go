package notify

// Table tests of the owner's state machine: (phase, event) -> (phase',
// effects), with the owner's handlers called directly on the fake clock,
// a stub client and a stub protocol.

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gcnotify/notify/internal/clock"
	"github.com/gcnotify/notify/internal/wire"
)

// stubHost is a client for one owner: spares are granted while spares > 0.
type stubHost struct {
	busy    bool // REST calls wait for the budget
	spares  int
	calls   []string
	gen     uint64
	invalid int
}

func (h *stubHost) takeSpare(*owner) (wire.Session, bool) {
	h.calls = append(h.calls, "takeSpare")
	if h.spares == 0 {
		return nil, false
	}
	h.spares--
	return nil, true
}
func (h *stubHost) releaseSpare(wire.Session) { h.spares++; h.calls = append(h.calls, "releaseSpare") }
func (h *stubHost) unqueue(*owner)            { h.calls = append(h.calls, "unqueue") }
func (h *stubHost) unroute(_ *owner, t []string) {
	h.calls = append(h.calls, "unroute "+strings.Join(t, ","))
}
func (h *stubHost) reroute(_ *owner, t []string) {
	h.calls = append(h.calls, "reroute "+strings.Join(t, ","))
}
func (h *stubHost) holdDedup() *dedup                    { return newDedup() }
func (h *stubHost) releaseDedup(*dedup)                  {}
func (h *stubHost) duplicate(uint64, *Notification) bool { return false }
func (h *stubHost) nextGen() uint64                      { h.gen++; return h.gen }
func (h *stubHost) failed(error, time.Time)              {}
func (h *stubHost) reconnected()                         {}
func (h *stubHost) invalidateToken()                     { h.invalid++ }
func (h *stubHost) paced() bool                          { return h.busy }
func (h *stubHost) logger() *slog.Logger                 { return slog.New(slog.DiscardHandler) }

// Dial parks: the test answers dials by calling dialed.
func (h *stubHost) Dial(ctx context.Context, _ []string, _ wire.Class, _ wire.Session) (wire.Conn, []wire.Rejection, error) {
	<-ctx.Done()
	return nil, nil, ctx.Err()
}

// stubConn is a connection whose calls park until it is closed or their
// context ends; the test answers them by calling the owner's handlers.
type stubConn struct {
	id     string
	closed chan struct{}
}

func newStubConn(id string) *stubConn { return &stubConn{id: id, closed: make(chan struct{})} }

func (c *stubConn) ID() string                      { return c.id }
func (c *stubConn) Seen() time.Time                 { return time.Time{} }
func (c *stubConn) RenewAt() time.Time              { return time.Time{} }
func (c *stubConn) Leave()                          { c.Close() }
func (c *stubConn) Drain(ctx context.Context) error { return c.park(ctx) }
func (c *stubConn) Close() {
	select {
	case <-c.closed:
	default:
		close(c.closed)
	}
}
func (c *stubConn) Next() (wire.Frame, error) {
	<-c.closed
	return wire.Frame{}, errors.New("stub: closed")
}
func (c *stubConn) Change(ctx context.Context, _, _, _ []string) ([]wire.Rejection, error) {
	return nil, c.park(ctx)
}
func (c *stubConn) Renew(ctx context.Context) ([]wire.Rejection, error) {
	return nil, c.park(ctx)
}
func (c *stubConn) park(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c.closed:
		return errors.New("stub: closed")
	}
}

// rig is an owner under test.
type rig struct {
	t   *testing.T
	o   *owner
	h   *stubHost
	clk *clock.Fake
	out *outbox
	ctx context.Context
}

func newRig(t *testing.T) *rig {
	cfg := defaultConfig()
	clk := clock.NewFake(time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC))
	cfg.clock, cfg.heartbeat = clk, 10*time.Second
	h := &stubHost{spares: 1}
	out := newOutbox(64)
	r := &rig{t: t, h: h, clk: clk, out: out, ctx: t.Context()}
	r.o = newOwner(h, &cfg, out, h, 1)
	r.o.want = setOf([]string{"a", "b"})
	r.o.begin()
	r.o.dial(r.ctx, wire.Transient, nil)
	t.Cleanup(func() {
		r.o.shutdown()
		out.shutdown()
	})
	return r
}

// dialOK answers the dial with a connection holding the set it was
// dialed with, a and b.
func (r *rig) dialOK(id string) error {
	return r.o.dialed(r.ctx, dialResult{conn: newStubConn(id), topics: []string{"a", "b"}, ctx: context.Background(), release: func(error) {}})
}

// serving brings the owner to serving on connection id.
func (r *rig) serving(id string) {
	if err := r.dialOK(id); err != nil || r.o.phase != phaseServing {
		r.t.Fatalf("setup: phase %v, err %v", r.o.phase, err)
	}
	r.events()
}

// events returns the kinds of the events pushed since the last call.
func (r *rig) events() []string {
	var kinds []string
	for {
		select {
		case ev := <-r.out.ch:
			kind := fmt.Sprintf("%T", ev)[len("notify."):]
			if c, ok := ev.(Connected); ok && c.Gap {
				kind += "+gap"
			}
			kinds = append(kinds, kind)
		default:
			return kinds
		}
	}
}

// lose ends cur as its reader would report.
func (r *rig) lose(err error) error {
	r.o.cur.conn.Close()
	<-r.o.cur.done
	return r.o.lost(err)
}

func httpErr(status int) error {
	return &wire.HTTPError{Status: status, RetryAfter: 7 * time.Second}
}

func TestOwnerTransitions(t *testing.T) {
	tests := []struct {
		name   string
		setup  func(r *rig)
		event  func(r *rig) error
		phase  phase
		ho     handoverPhase
		chg    changePhase
		events []string
		err    bool
	}{
		{
			name:   "dialing + dial ok, set unchanged -> serving, Connected",
			event:  func(r *rig) error { return r.dialOK("ch1") },
			phase:  phaseServing,
			events: []string{"Connected"},
		},
		{
			name:  "dialing + dial ok, set changed meanwhile -> announcing, change out",
			setup: func(r *rig) { r.o.want["c"] = struct{}{} },
			event: func(r *rig) error { return r.dialOK("ch1") },
			phase: phaseAnnouncing, chg: changeSending,
		},
		{
			name: "dialing + dial fails (503) -> backing off, Disconnected",
			event: func(r *rig) error {
				return r.o.dialed(r.ctx, dialResult{err: httpErr(http.StatusServiceUnavailable), ctx: context.Background(), release: func(error) {}})
			},
			phase:  phaseBackingOff,
			events: []string{"Disconnected"},
		},
		{
			name: "dialing + dial fails (permanent) -> Run ends",
			event: func(r *rig) error {
				return r.o.dialed(r.ctx, dialResult{err: wire.ErrUnauthorized, ctx: context.Background(), release: func(error) {}})
			},
			phase: phaseDialing, err: true,
		},
		{
			name: "dialing + deadline -> the dial is given up, then backing off, Disconnected",
			event: func(r *rig) error {
				r.o.deadline(r.ctx)
				res := (<-r.o.results).(dialResult)
				if !errors.Is(res.err, errDialTimeout) {
					return fmt.Errorf("the dial ended with %v, want errDialTimeout", res.err)
				}
				if err := r.o.dialed(r.ctx, res); err != nil || r.o.after != wire.FreshSession {
					return fmt.Errorf("dialed = %v; the next dial's class is %v, want a new session", err, r.o.after)
				}
				return nil
			},
			phase:  phaseBackingOff,
			events: []string{"Disconnected"},
		},
		{
			name:  "dialing + deadline while REST calls wait for the budget -> still dialing: paced, not hung",
			setup: func(r *rig) { r.h.busy = true },
			event: func(r *rig) error { r.o.deadline(r.ctx); return nil },
			phase: phaseDialing,
		},
		{
			name: "backing off + timer -> dialing",
			setup: func(r *rig) {
				_ = r.o.dialed(r.ctx, dialResult{err: httpErr(http.StatusServiceUnavailable), ctx: context.Background(), release: func(error) {}})
				r.events()
			},
			event: func(r *rig) error { r.o.deadline(r.ctx); return nil },
			phase: phaseDialing,
		},
		{
			name: "announcing + change ok -> serving, Connected",
			setup: func(r *rig) {
				r.o.want["c"] = struct{}{}
				_ = r.dialOK("ch1")
			},
			event: func(r *rig) error {
				return r.o.changed(changeResult{l: r.o.cur, topics: []string{"a", "b", "c"}})
			},
			phase: phaseServing, events: []string{"Connected"},
		},
		{
			name: "announcing + change 429 -> announcing, change backing off",
			setup: func(r *rig) {
				r.o.want["c"] = struct{}{}
				_ = r.dialOK("ch1")
			},
			event: func(r *rig) error {
				return r.o.changed(changeResult{l: r.o.cur, err: httpErr(http.StatusTooManyRequests)})
			},
			phase: phaseAnnouncing, chg: changeBackingOff,
		},
		{
			name: "announcing + deadline -> connection ended as a fault, then backing off with Disconnected",
			setup: func(r *rig) {
				r.o.want["c"] = struct{}{}
				_ = r.dialOK("ch1")
			},
			event: func(r *rig) error {
				r.o.deadline(r.ctx)
				<-r.o.cur.done
				return r.o.lost(r.o.cur.ended())
			},
			phase: phaseBackingOff, events: []string{"Disconnected"},
		},
		{
			name:   "serving + lost -> backing off, Disconnected",
			setup:  func(r *rig) { r.serving("ch1") },
			event:  func(r *rig) error { return r.lose(errors.New("EOF")) },
			phase:  phaseBackingOff,
			events: []string{"Disconnected"},
		},
		{
			name:  "serving + planned close, spare free -> serving, handover dialing",
			setup: func(r *rig) { r.serving("ch1") },
			event: func(r *rig) error { r.o.planned(r.ctx); return nil },
			phase: phaseServing, ho: handoverDialing,
		},
		{
			name:  "serving + planned close, no spare -> serving, handover queued",
			setup: func(r *rig) { r.h.spares = 0; r.serving("ch1") },
			event: func(r *rig) error { r.o.planned(r.ctx); return nil },
			phase: phaseServing, ho: handoverQueued,
		},
		{
			name:  "serving, handover dialing + dial ok -> announcing on the new connection while the old drains",
			setup: func(r *rig) { r.serving("ch1"); r.o.planned(r.ctx) },
			event: func(r *rig) error { return r.dialOK("ch2") },
			phase: phaseAnnouncing, ho: handoverDraining,
		},
		{
			name: "announcing, handover draining + drained -> serving, Connected without a gap",
			setup: func(r *rig) {
				r.serving("ch1")
				r.o.planned(r.ctx)
				_ = r.dialOK("ch2")
			},
			event: func(r *rig) error { r.o.drained(drained{l: r.o.ho.old}); return nil },
			phase: phaseServing, ho: handoverNone, events: []string{"Connected"},
		},
		{
			name: "announcing, handover draining + drain failed -> serving, Connected with a gap",
			setup: func(r *rig) {
				r.serving("ch1")
				r.o.planned(r.ctx)
				_ = r.dialOK("ch2")
			},
			event: func(r *rig) error {
				r.o.drained(drained{l: r.o.ho.old, err: ErrHeartbeatTimeout})
				return nil
			},
			phase: phaseServing, ho: handoverNone, events: []string{"Connected+gap"},
		},
		{
			name: "announcing, handover draining + deadline -> still announcing: the drain bounds itself",
			setup: func(r *rig) {
				r.serving("ch1")
				r.o.planned(r.ctx)
				_ = r.dialOK("ch2")
			},
			event: func(r *rig) error { r.o.deadline(r.ctx); return nil },
			phase: phaseAnnouncing, ho: handoverDraining,
		},
		{
			name:  "serving, handover dialing + dial fails -> serving, no handover",
			setup: func(r *rig) { r.serving("ch1"); r.o.planned(r.ctx) },
			event: func(r *rig) error {
				return r.o.dialed(r.ctx, dialResult{err: httpErr(http.StatusServiceUnavailable), ctx: context.Background(), release: func(error) {}})
			},
			phase: phaseServing, ho: handoverNone,
		},
		{
			name:  "serving, handover dialing + lost -> dialing: the handover's dial is the reconnect",
			setup: func(r *rig) { r.serving("ch1"); r.o.planned(r.ctx) },
			event: func(r *rig) error { return r.lose(errors.New("EOF")) },
			phase: phaseDialing, ho: handoverDialing, events: []string{"Disconnected"},
		},
		{
			name:  "serving, handover queued + lost -> backing off, out of the queue",
			setup: func(r *rig) { r.h.spares = 0; r.serving("ch1"); r.o.planned(r.ctx) },
			event: func(r *rig) error { return r.lose(errors.New("EOF")) },
			phase: phaseBackingOff, ho: handoverNone, events: []string{"Disconnected"},
		},
		{
			name: "serving + change refused (400) -> serving, change idle, caller told",
			setup: func(r *rig) {
				r.serving("ch1")
				req := newRequest(requestChange)
				req.add = []string{"bad"}
				r.o.serve([]*request{req})
			},
			event: func(r *rig) error {
				return r.o.changed(changeResult{l: r.o.cur, err: httpErr(http.StatusBadRequest)})
			},
			phase: phaseServing, chg: changeIdle,
		},
		{
			name: "dialing again + the answer to a change on the lost connection -> ignored",
			setup: func(r *rig) {
				r.serving("ch1")
				req := newRequest(requestChange)
				req.add = []string{"c"}
				r.o.serve([]*request{req})
				_ = r.lose(errors.New("EOF"))
				r.o.deadline(r.ctx) // dial again
				_ = r.dialOK("ch2") // the set changed: a change is out on ch2
				r.events()
			},
			// The lost connection's change reports, ended by the loss.
			event: func(r *rig) error { return r.o.changed((<-r.o.results).(changeResult)) },
			phase: phaseAnnouncing, chg: changeSending,
		},
		{
			name: "serving + change gone (404) -> connection ended, change idle",
			setup: func(r *rig) {
				r.serving("ch1")
				req := newRequest(requestChange)
				req.add = []string{"c"}
				r.o.serve([]*request{req})
			},
			event: func(r *rig) error {
				return r.o.changed(changeResult{l: r.o.cur, err: httpErr(http.StatusNotFound)})
			},
			phase: phaseServing, chg: changeIdle,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t)
			if tt.setup != nil {
				tt.setup(r)
			}
			err := tt.event(r)
			if (err != nil) != tt.err {
				t.Fatalf("err = %v, want error: %v", err, tt.err)
			}
			if r.o.phase != tt.phase || r.o.ho.phase != tt.ho || r.o.chg.phase != tt.chg {
				t.Fatalf("phase %v, handover %v, change %v; want %v, %v, %v", r.o.phase, r.o.ho.phase, r.o.chg.phase, tt.phase, tt.ho, tt.chg)
			}
			if got := r.events(); !slices.Equal(got, tt.events) {
				t.Fatalf("events %v, want %v", got, tt.events)
			}
		})
	}
}

// An illegal transition is a bug, and says which.
func TestOwnerRefusesIllegalTransition(t *testing.T) {
	r := newRig(t)
	defer func() {
		if msg := fmt.Sprint(recover()); !strings.Contains(msg, "no transition from dialing to serving") {
			t.Fatalf("panic %q", msg)
		}
	}()
	r.o.to(phaseServing, "test")
}
