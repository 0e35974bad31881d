// Package genesys speaks the Genesys Cloud Notifications API: the REST
// channel and subscription endpoints and the JSON envelope of socket frames.
// It knows nothing about reconnecting; the notify package drives it.
package genesys
