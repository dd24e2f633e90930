// Command ais-gw runs an AIS gateway: the stateless front door that serves the native REST API
// and routes object requests to the targets that own them.
package main
