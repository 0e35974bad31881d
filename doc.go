// Package notify keeps a Go service subscribed to Genesys Cloud
// notifications through every kind of disconnect.
//
// A Client holds an oauth2.TokenSource and a topic set. Run creates a
// notification channel, opens its WebSocket, subscribes the whole set and
// delivers every event, in order, on one channel returned by Events. When
// the socket breaks, goes silent or the channel disappears, Run reconnects
// with capped, jittered exponential backoff, subscribes the same set again
// and reports the gap with Connected{Gap: true}: Genesys keeps no events
// for a closed socket, so a service backfills over REST when it sees one.
//
// A complete program, the quick start of the README, prints a user's
// presence as it changes:
//
//	package main
//
//	import (
//		"context"
//		"errors"
//		"fmt"
//		"log"
//		"os"
//		"os/signal"
//
//		"github.com/gcnotify/notify"
//	)
//
//	func main() {
//		if len(os.Args) != 2 {
//			log.Fatal("usage: presence USER-ID")
//		}
//		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//		defer stop()
//
//		id, secret := os.Getenv("GENESYS_CLIENT_ID"), os.Getenv("GENESYS_CLIENT_SECRET")
//		ts := notify.ClientCredentials(ctx, "mypurecloud.ie", id, secret)
//		c, err := notify.New(ts) // the environment comes with ts
//		if err != nil {
//			log.Fatal(err)
//		}
//		defer c.Close()
//		if err := c.Subscribe(ctx, notify.UserPresenceTopic(os.Args[1])); err != nil {
//			log.Fatal(err)
//		}
//
//		// Run connects and stays connected until ctx ends or it cannot go on;
//		// its error says why.
//		runErr := make(chan error, 1)
//		go func() { runErr <- c.Run(ctx) }()
//
//		for ev := range c.Events() { // closed when Run returns
//			switch ev := ev.(type) {
//			case notify.Notification:
//				p, err := notify.Decode[notify.UserPresence](ev)
//				if err != nil {
//					log.Print(err)
//					continue
//				}
//				fmt.Println(ev.Topic, p.PresenceDefinition.SystemPresence)
//			case notify.Connected:
//				fmt.Println("connected; events missed before:", ev.Gap)
//			case notify.Disconnected:
//				fmt.Println("disconnected:", ev.Err, "- retrying in", ev.RetryIn)
//			case notify.Rejected:
//				fmt.Println("refused:", ev.Topic, ev.Reason, ev.MissingPermissions)
//			}
//		}
//		if err := <-runErr; !errors.Is(err, context.Canceled) {
//			log.Fatal(err) // such as an error matching notify.ErrUnauthorized
//		}
//	}
//
// Tests use the in-process fake server of package notifytest with
// WithAPIBaseURL.
package notify
