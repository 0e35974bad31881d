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
// A complete program:
//
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
//	defer stop()
//
//	ts := notify.ClientCredentials(ctx, "mypurecloud.ie", clientID, clientSecret)
//	c, err := notify.New(ts, notify.WithEnvironment("mypurecloud.ie"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer c.Close()
//	if err := c.Subscribe(ctx, "v2.users."+userID+".presence"); err != nil {
//		log.Fatal(err)
//	}
//	go func() {
//		if err := c.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
//			log.Print(err)
//		}
//	}()
//	for ev := range c.Events() {
//		switch ev := ev.(type) {
//		case notify.Notification:
//			type presence struct {
//				PresenceDefinition struct{ SystemPresence string }
//			}
//			p, err := notify.Decode[presence](ev)
//			if err != nil {
//				log.Print(err)
//				continue
//			}
//			fmt.Println(ev.Topic, p.PresenceDefinition.SystemPresence)
//		case notify.Connected:
//			if ev.Gap {
//				// Events may have been missed: refresh state over REST.
//			}
//		case notify.Rejected:
//			log.Printf("no permission for %s: %v", ev.Topic, ev.MissingPermissions)
//		case notify.Dropped:
//			log.Printf("consumer too slow: %d events dropped", ev.Count)
//		}
//	}
//
// Tests use the in-process fake server of package notifytest with
// WithAPIBaseURL.
package notify
