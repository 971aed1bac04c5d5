#include "PowerLossVFS.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// A write or truncation made since the file's last sync. `data == NULL` marks a truncation to
// `offset`.
typedef struct Change {
    int64_t offset;
    int64_t length;
    unsigned char *data;
    struct Change *next;
} Change;

// What the VFS remembers of one file, from its first open until the reset: its content as of
// its last sync and the changes since, in order.
typedef struct Tracked {
    char *path;
    unsigned char *synced;
    int64_t syncedSize;
    Change *first, *last;
    struct Tracked *next;
} Tracked;

typedef struct {
    sqlite3_file base;
    Tracked *tracked;  // NULL for files the VFS does not track (temporary files)
    sqlite3_file real[];  // the default VFS's file, szOsFile bytes
} File;

static sqlite3_vfs vfs;
static sqlite3_vfs *parent;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Tracked *files;
static int64_t operations, crashAfter;
static int crashed;

static void freeChanges(Tracked *t) {
    for (Change *c = t->first; c;) {
        Change *next = c->next;
        free(c->data);
        free(c);
        c = next;
    }
    t->first = t->last = NULL;
}

static void forget(Tracked *t) {
    freeChanges(t);
    free(t->synced);
    free(t->path);
    free(t);
}

// Counts one write, truncation or sync; whether it may happen (the machine is still on).
static int tick(void) {
    operations++;
    if (crashAfter > 0 && operations > crashAfter) crashed = 1;
    return !crashed;
}

static void apply(unsigned char **content, int64_t *size, const Change *c, int64_t length) {
    if (!c->data) {
        if (c->offset < *size) *size = c->offset;
        return;
    }
    int64_t end = c->offset + length;
    if (end > *size) {
        *content = realloc(*content, (size_t)end);
        if (c->offset > *size) memset(*content + *size, 0, (size_t)(c->offset - *size));
        *size = end;
    }
    memcpy(*content + c->offset, c->data, (size_t)length);
}

static Tracked *track(const char *path) {
    for (Tracked *t = files; t; t = t->next)
        if (strcmp(t->path, path) == 0) return t;
    Tracked *t = calloc(1, sizeof(Tracked));
    t->path = strdup(path);
    // A file that exists already is taken as synced as it is.
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        off_t size = lseek(fd, 0, SEEK_END);
        if (size > 0) {
            t->synced = malloc((size_t)size);
            if (pread(fd, t->synced, (size_t)size, 0) == size) t->syncedSize = size;
        }
        close(fd);
    }
    t->next = files;
    files = t;
    return t;
}

static void remember(Tracked *t, int64_t offset, int64_t length, const void *data) {
    Change *c = calloc(1, sizeof(Change));
    c->offset = offset;
    c->length = length;
    if (data) {
        c->data = malloc((size_t)length);
        memcpy(c->data, data, (size_t)length);
    }
    if (t->last) t->last->next = c; else t->first = c;
    t->last = c;
}

// MARK: io methods

static int xClose(sqlite3_file *f) {
    File *p = (File *)f;
    return p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
}

static int xRead(sqlite3_file *f, void *buffer, int amount, sqlite3_int64 offset) {
    File *p = (File *)f;
    return p->real->pMethods->xRead(p->real, buffer, amount, offset);
}

static int xWrite(sqlite3_file *f, const void *buffer, int amount, sqlite3_int64 offset) {
    File *p = (File *)f;
    pthread_mutex_lock(&lock);
    int on = tick();
    if (on && p->tracked) remember(p->tracked, offset, amount, buffer);
    pthread_mutex_unlock(&lock);
    if (!on) return SQLITE_IOERR_WRITE;
    return p->real->pMethods->xWrite(p->real, buffer, amount, offset);
}

static int xTruncate(sqlite3_file *f, sqlite3_int64 size) {
    File *p = (File *)f;
    pthread_mutex_lock(&lock);
    int on = tick();
    if (on && p->tracked) remember(p->tracked, size, 0, NULL);
    pthread_mutex_unlock(&lock);
    if (!on) return SQLITE_IOERR_TRUNCATE;
    return p->real->pMethods->xTruncate(p->real, size);
}

static int xSync(sqlite3_file *f, int flags) {
    File *p = (File *)f;
    pthread_mutex_lock(&lock);
    int on = tick();
    if (on && p->tracked) {
        Tracked *t = p->tracked;
        for (Change *c = t->first; c; c = c->next) apply(&t->synced, &t->syncedSize, c, c->length);
        freeChanges(t);
    }
    pthread_mutex_unlock(&lock);
    if (!on) return SQLITE_IOERR_FSYNC;
    return p->real->pMethods->xSync(p->real, flags);
}

static int xFileSize(sqlite3_file *f, sqlite3_int64 *size) {
    File *p = (File *)f;
    return p->real->pMethods->xFileSize(p->real, size);
}

static int xLock(sqlite3_file *f, int level) { File *p = (File *)f; return p->real->pMethods->xLock(p->real, level); }
static int xUnlock(sqlite3_file *f, int level) { File *p = (File *)f; return p->real->pMethods->xUnlock(p->real, level); }
static int xCheckReservedLock(sqlite3_file *f, int *out) {
    File *p = (File *)f;
    return p->real->pMethods->xCheckReservedLock(p->real, out);
}
static int xFileControl(sqlite3_file *f, int op, void *arg) {
    File *p = (File *)f;
    return p->real->pMethods->xFileControl(p->real, op, arg);
}
static int xSectorSize(sqlite3_file *f) { File *p = (File *)f; return p->real->pMethods->xSectorSize(p->real); }
static int xDeviceCharacteristics(sqlite3_file *f) {
    File *p = (File *)f;
    // Claim nothing: no atomic or sequential writes, no power-safe overwrite.
    return p->real->pMethods->xDeviceCharacteristics(p->real) & ~SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}
static int xShmMap(sqlite3_file *f, int region, int size, int extend, void volatile **out) {
    File *p = (File *)f;
    return p->real->pMethods->xShmMap(p->real, region, size, extend, out);
}
static int xShmLock(sqlite3_file *f, int offset, int n, int flags) {
    File *p = (File *)f;
    return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}
static void xShmBarrier(sqlite3_file *f) { File *p = (File *)f; p->real->pMethods->xShmBarrier(p->real); }
static int xShmUnmap(sqlite3_file *f, int deleteFlag) {
    File *p = (File *)f;
    return p->real->pMethods->xShmUnmap(p->real, deleteFlag);
}

static const sqlite3_io_methods methods = {
    2, xClose, xRead, xWrite, xTruncate, xSync, xFileSize, xLock, xUnlock, xCheckReservedLock, xFileControl,
    xSectorSize, xDeviceCharacteristics, xShmMap, xShmLock, xShmBarrier, xShmUnmap, NULL, NULL,
};

// MARK: vfs methods

static int vOpen(sqlite3_vfs *v, const char *name, sqlite3_file *f, int flags, int *outFlags) {
    (void)v;
    File *p = (File *)f;
    memset(p, 0, sizeof(File));
    int rc = parent->xOpen(parent, name, p->real, flags, outFlags);
    if (rc != SQLITE_OK) {
        p->real->pMethods = NULL;
        f->pMethods = NULL;
        return rc;
    }
    f->pMethods = &methods;
    if (name && (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL | SQLITE_OPEN_MAIN_JOURNAL))) {
        pthread_mutex_lock(&lock);
        p->tracked = track(name);
        pthread_mutex_unlock(&lock);
    }
    return SQLITE_OK;
}

static int vDelete(sqlite3_vfs *v, const char *name, int syncDir) {
    (void)v;
    // A deletion is taken as durable at once (as if the directory were synced with it).
    pthread_mutex_lock(&lock);
    int on = tick();
    if (on) {
        for (Tracked **link = &files; *link; link = &(*link)->next) {
            if (strcmp((*link)->path, name) == 0) {
                Tracked *gone = *link;
                *link = gone->next;
                forget(gone);
                break;
            }
        }
    }
    pthread_mutex_unlock(&lock);
    if (!on) return SQLITE_IOERR_DELETE;
    return parent->xDelete(parent, name, syncDir);
}

static int vAccess(sqlite3_vfs *v, const char *name, int flags, int *out) { (void)v; return parent->xAccess(parent, name, flags, out); }
static int vFullPathname(sqlite3_vfs *v, const char *name, int n, char *out) { (void)v; return parent->xFullPathname(parent, name, n, out); }
static void *vDlOpen(sqlite3_vfs *v, const char *name) { (void)v; return parent->xDlOpen(parent, name); }
static void vDlError(sqlite3_vfs *v, int n, char *out) { (void)v; parent->xDlError(parent, n, out); }
static void (*vDlSym(sqlite3_vfs *v, void *handle, const char *name))(void) { (void)v; return parent->xDlSym(parent, handle, name); }
static void vDlClose(sqlite3_vfs *v, void *handle) { (void)v; parent->xDlClose(parent, handle); }
static int vRandomness(sqlite3_vfs *v, int n, char *out) { (void)v; return parent->xRandomness(parent, n, out); }
static int vSleep(sqlite3_vfs *v, int microseconds) { (void)v; return parent->xSleep(parent, microseconds); }
static int vCurrentTime(sqlite3_vfs *v, double *out) { (void)v; return parent->xCurrentTime(parent, out); }
static int vGetLastError(sqlite3_vfs *v, int n, char *out) { (void)v; return parent->xGetLastError(parent, n, out); }
static int vCurrentTimeInt64(sqlite3_vfs *v, sqlite3_int64 *out) { (void)v; return parent->xCurrentTimeInt64(parent, out); }

int powerloss_register(void) {
    pthread_mutex_lock(&lock);
    int rc = SQLITE_OK;
    if (!parent) {
        parent = sqlite3_vfs_find(NULL);
        vfs = (sqlite3_vfs){
            2, (int)(sizeof(File) + (size_t)parent->szOsFile), parent->mxPathname, NULL, "powerloss", NULL,
            vOpen, vDelete, vAccess, vFullPathname, vDlOpen, vDlError, vDlSym, vDlClose, vRandomness, vSleep,
            vCurrentTime, vGetLastError, vCurrentTimeInt64,
        };
        rc = sqlite3_vfs_register(&vfs, 0);
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void powerloss_reset(void) {
    pthread_mutex_lock(&lock);
    while (files) {
        Tracked *next = files->next;
        forget(files);
        files = next;
    }
    operations = 0;
    crashAfter = 0;
    crashed = 0;
    pthread_mutex_unlock(&lock);
}

void powerloss_arm(int64_t count) {
    pthread_mutex_lock(&lock);
    crashAfter = count > 0 ? operations + count : 0;
    pthread_mutex_unlock(&lock);
}

int powerloss_crashed(void) {
    pthread_mutex_lock(&lock);
    int result = crashed;
    pthread_mutex_unlock(&lock);
    return result;
}

int64_t powerloss_operations(void) {
    pthread_mutex_lock(&lock);
    int64_t result = operations;
    pthread_mutex_unlock(&lock);
    return result;
}

// SplitMix64: a small, good generator, seeded per run so a failure can be replayed.
static uint64_t next(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

int powerloss_apply(uint64_t seed) {
    pthread_mutex_lock(&lock);
    uint64_t random = seed;
    int rc = 0;
    for (Tracked *t = files; t && rc == 0; t = t->next) {
        int64_t size = t->syncedSize;
        unsigned char *content = malloc(size > 0 ? (size_t)size : 1);
        if (size > 0) memcpy(content, t->synced, (size_t)size);
        for (Change *c = t->first; c; c = c->next) {
            uint64_t roll = next(&random) % 4;
            if (roll == 0) continue;  // dropped
            int64_t length = c->length;
            if (roll == 1 && c->data && length > 512) length = 512 * (int64_t)(1 + next(&random) % (uint64_t)(length / 512));  // torn
            apply(&content, &size, c, length);
        }
        int fd = open(t->path, O_WRONLY | O_CREAT, 0644);
        if (fd < 0 || ftruncate(fd, size) != 0 || (size > 0 && pwrite(fd, content, (size_t)size, 0) != size)) rc = -1;
        if (fd >= 0) close(fd);
        free(content);
        // The WAL index lives in shared memory: it does not survive a reboot.
        size_t n = strlen(t->path);
        if (n <= 4 || (strcmp(t->path + n - 4, "-wal") != 0 && strcmp(t->path + n - 4, "-journal") != 0)) {
            char *shm = malloc(n + 5);
            memcpy(shm, t->path, n);
            memcpy(shm + n, "-shm", 5);
            unlink(shm);
            free(shm);
        }
    }
    pthread_mutex_unlock(&lock);
    powerloss_reset();
    return rc;
}
