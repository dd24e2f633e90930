// Package check decides whether a chaos history shows an anomaly: non-linearizable reads
// (porcupine), lost acknowledged writes, incomplete or phantom listings, wrong bytes served,
// epochs going backwards, and a cluster that does not recover after a heal.
package check
