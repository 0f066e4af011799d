// Package dirlock gives one process at a time a data directory: the
// in-process index, the spend ledger, the handoff queue and the intents
// file in data_dir are append-only logs and files that one writer keeps in
// memory too, so a second process writing them would interleave lines and
// each would serve a state the other no longer matches. The lock is a
// flock(2) on data_dir/LOCK, which holds the holder's pid; the kernel drops
// it when the holder exits, however it exits, so a LOCK file a killed
// process left behind blocks nobody.
package dirlock
