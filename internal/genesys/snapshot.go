package genesys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gcnotify/notify/internal/wire"
)

// readAttempts bounds the tries of one state read: a 429 is waited out
// (the API pauses every call for its Retry-After) and a 5xx or network
// error retried after a second, then two; then the read's topics are
// skipped with the error.
const readAttempts = 3

// ReadState reads the state of topics in bulk, within the client's
// budget: per reader, as many ids in one request as it takes. Topics
// without a reader are skipped without error; those of a read that kept
// failing (a 403, a persistent 5xx) are skipped with its error.
func (p *Protocol) ReadState(ctx context.Context, topics []string) (map[string][]byte, []string, error) {
	ids := map[Reader][]string{}
	by := map[Reader]map[string][]string{} // reader -> id -> the topics asked that it covers
	var skipped []string
	for _, t := range topics {
		r, id, ok := SnapshotKind(t)
		if !ok {
			skipped = append(skipped, t)
			continue
		}
		for _, one := range r.Split() {
			if by[one] == nil {
				by[one] = map[string][]string{}
			}
			if by[one][id] == nil {
				ids[one] = append(ids[one], id)
			}
			by[one][id] = append(by[one][id], t)
		}
	}
	read := map[string][]byte{}
	var errs []error
	for _, r := range readers {
		for batch := range slices.Chunk(ids[r], r.Limit()) {
			st, err := p.readBatch(ctx, r, batch)
			if err != nil {
				if ctx.Err() != nil {
					return nil, nil, ctx.Err()
				}
				errs = append(errs, fmt.Errorf("notify: reading %v state of %d ids: %w", r, len(batch), err))
				for _, id := range batch {
					skipped = append(skipped, by[r][id]...)
				}
				continue
			}
			for _, id := range batch {
				body, ok := st.Bodies[id]
				if !ok {
					skipped = append(skipped, by[r][id]...)
					continue
				}
				read[r.Topics(id)[0]] = body
			}
		}
	}
	slices.Sort(skipped)
	return read, slices.Compact(skipped), errors.Join(errs...)
}

// readBatch runs one read, retrying what may succeed.
func (p *Protocol) readBatch(ctx context.Context, r Reader, ids []string) (States, error) {
	var err error
	for attempt := range readAttempts {
		rctx, cancel := context.WithTimeout(ctx, restTimeout)
		var st States
		st, err = p.api.ReadState(rctx, r, ids)
		cancel()
		if err == nil {
			return st, nil
		}
		switch cl, _ := wire.ClassOf(err); cl {
		case wire.RetryAfter: // the budget holds the next call until Retry-After
		case wire.Transient:
			t := p.cfg.Clock.NewTimer(time.Duration(attempt+1) * time.Second)
			select {
			case <-t.C():
			case <-ctx.Done():
				t.Stop()
				return States{}, ctx.Err()
			}
		default:
			return States{}, err
		}
	}
	return States{}, err
}
