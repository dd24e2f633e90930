// Command ais is the user and operator command line of AIS: it creates and lists buckets, moves
// objects in and out, and shows and changes the cluster, talking only to a gateway.
package main
