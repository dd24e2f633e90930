// Command ais-bench is the load generator of AIS: it drives a cluster (native API, redirect or
// through the gateway, or S3) with PUT, GET and mixed loads, measures the ceilings of the same
// machine (disk, and a minimal HTTP object server it runs itself), and writes the table of
// docs/performance.md.
package main
