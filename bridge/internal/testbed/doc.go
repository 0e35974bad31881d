// Package testbed runs the whole pipeline on one machine: an embedded
// nats-server with JetStream, fake Genesys Cloud servers (package
// notifytest) fed with the same synthetic events, notify clients for them,
// and a reader that checks what the stream holds. The command's demo and
// benchmark modes and the bridge's tests use it.
package testbed
