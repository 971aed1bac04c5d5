#ifndef POWER_LOSS_VFS_H
#define POWER_LOSS_VFS_H

#include <stdint.h>

// A SQLite VFS for tests that simulates a power loss, after the idea of SQLite's own crash
// test VFS (https://www.sqlite.org/testing.html#crash_testing; test_vfs.c and test6.c in its
// source): it wraps the default VFS, remembers for each file the writes and truncations made
// since that file's last successful xSync, and on a simulated power loss puts every file back
// to what a disk could hold afterwards: its content at its last sync, plus a random subset of
// the writes since, some of them torn (only their first sectors reached the disk).
//
// Use: powerloss_register() once; open databases with the VFS named "powerloss"; arm a crash
// with powerloss_arm(n): the n-th write, truncation or sync after it fails, as does every one
// after (the machine is off). Close every connection, then powerloss_apply(seed) rewrites the
// files, and the database is opened again through the normal VFS.

// Registers the VFS (not as the default); safe to call more than once. 0 on success.
int powerloss_register(void);

// Forgets every file and disarms: a test starts from here.
void powerloss_reset(void);

// The next `operations` writes, truncations and syncs succeed; the one after and every later
// one fail with SQLITE_IOERR. 0 disarms.
void powerloss_arm(int64_t operations);

// Whether the armed crash has happened.
int powerloss_crashed(void);

// Writes, truncations and syncs seen since the last reset.
int64_t powerloss_operations(void);

// Rewrites every remembered file as the disk could hold it after the power loss: each file's
// synced content, then each write since its last sync kept whole, torn or dropped at random
// (from `seed`), in order. Deletes the WAL index (-shm), which does not survive a reboot.
// Call only once every connection to the files is closed. 0 on success.
int powerloss_apply(uint64_t seed);

#endif
