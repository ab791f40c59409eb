/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "archive.h"
#include "collect.h"
#include "io.h"
#include "macro.h"
#include "restore.h"
#include "sysv.h"

void restore_result_done(struct restore_result *r) {
        free(r->id);
        free(r->old_id);
        r->id = r->old_id = NULL;
}

/* Names the SysV object that holds O's key now, by a look at every object
 * of O's type (as a collection reads them), into BUF. */
static void sysv_holder(const struct ipc_object *o, char buf[static RESTORE_TEXT_MAX]) {
        _cleanup_(inventory_freep) struct inventory *inv = NULL;

        snprintf(buf, RESTORE_TEXT_MAX, "key 0x%08" PRIx32 " is taken now", (uint32_t) o->key);
        if (inventory_new(&inv) < 0 || sysv_collect(o->type, "/proc/sysvipc", NULL, inv) < 0)
                return;
        for (size_t i = 0; i < inv->n_objects; i++) {
                const struct ipc_object *h = &inv->objects[i];
                if (h->type == o->type && h->key == o->key) {
                        snprintf(buf, RESTORE_TEXT_MAX, "key 0x%08" PRIx32 " is taken now by %s:%d (uid %u)",
                                 (uint32_t) o->key, ipc_type_to_string(h->type), h->id, (unsigned) h->uid);
                        return;
                }
        }
}

/* Is O's key or name taken now?  Then BUF names the holder.  Only for
 * saying so: the restore's IPC_EXCL / O_EXCL is the guard. */
static bool taken(const struct ipc_object *o, const struct scan_config *scan, int parent_fd, const char *base,
                  char buf[static RESTORE_TEXT_MAX]) {
        char path[PATH_MAX];
        size_t off;
        struct stat st;

        if (ipc_type_is_sysv(o->type)) {
                if (o->key == IPC_PRIVATE)
                        return false; /* never taken; and a get of it would make one */
                int id = o->type == IPC_TYPE_SHM   ? shmget(o->key, 0, 0)
                         : o->type == IPC_TYPE_MSG ? msgget(o->key, 0)
                                                   : semget(o->key, 0, 0);
                if (id < 0 && errno == ENOENT)
                        return false;
                sysv_holder(o, buf);
                return true;
        }
        if (fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return false;
        if (collect_object_path(o, scan, path, sizeof(path), &off) < 0)
                snprintf(path, sizeof(path), "%s", o->name);
        /* A long path is cut, what holds it is not. */
        snprintf(buf, RESTORE_TEXT_MAX, "%.*s is taken now (uid %u, inode %" PRIu64 ")", RESTORE_TEXT_MAX - 64, path,
                 (unsigned) st.st_uid, (uint64_t) st.st_ino);
        return true;
}

/* What the child that makes the object tells its parent. */
struct child_report {
        int r;
        int id;
        bool same_id;
};

/*
 * Makes O again in a child that exits at once.  The process that creates a
 * SysV object is recorded in it for good: its cpid, and lpid or sempid
 * from filling it.  Were that the daemon, the object would have a live
 * user for as long as the daemon runs and would never be judged an orphan
 * again; a short-lived child leaves a pid that has exited, as the orphan's
 * own creator had.  Everything is made the same way, named objects too.
 */
static int create_in_child(const struct ipc_object *o, const struct archive_at *at, int parent_fd, const char *base,
                           const struct archive_contents *c, struct child_report *ret) {
        struct child_report rep = { .r = -EPROTO };
        int p[2], status;
        ssize_t n;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid = fork();
        if (pid < 0) {
                int r = negative_errno();
                (void) close(p[0]);
                (void) close(p[1]);
                return r;
        }
        if (pid == 0) {
                (void) close(p[0]);
                if (ipc_type_is_sysv(o->type))
                        rep.r = archive_sysv_restore(o, at, c, &rep.id, &rep.same_id);
                else
                        rep.r = archive_posix_restore(o, parent_fd, base, at, c);
                _exit(io_write_all(p[1], &rep, sizeof(rep), -1) < 0 ? 1 : 0);
        }
        (void) close(p[1]);
        n = io_read_full(p[0], &rep, sizeof(rep));
        (void) close(p[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (n < 0)
                return (int) n;
        if (n != (ssize_t) sizeof(rep))
                return -EPROTO; /* it died before it said how it went */
        *ret = rep;
        return 0;
}

static const char *next_id_name(enum ipc_type t) {
        return t == IPC_TYPE_SHM ? "shm_next_id" : t == IPC_TYPE_MSG ? "msg_next_id" : "sem_next_id";
}

/* Why the SysV object O did not get its old id back, into BUF. */
static void why_new_id(const struct ipc_object *o, char buf[static RESTORE_TEXT_MAX]) {
        struct ipc_object other;
        char path[64];

        snprintf(path, sizeof(path), "/proc/sys/kernel/%s", next_id_name(o->type));
        if (sysv_stat(o->type, o->id, &other) == 0) {
                snprintf(buf, RESTORE_TEXT_MAX, "another object (key 0x%08" PRIx32 ") has it now",
                         (uint32_t) other.key);
                ipc_object_done(&other);
        } else if (access(path, F_OK) < 0)
                snprintf(buf, RESTORE_TEXT_MAX, "this kernel has no kernel.%s (CONFIG_CHECKPOINT_RESTORE)",
                         next_id_name(o->type));
        else if (access(path, W_OK) < 0 && errno == EROFS)
                snprintf(buf, RESTORE_TEXT_MAX,
                         "kernel.%s is read-only here (a unit's ProtectKernelTunables=; root's `ipcgc restore "
                         "--local` can ask for it)",
                         next_id_name(o->type));
        else
                snprintf(buf, RESTORE_TEXT_MAX,
                         "kernel.%s did not give it: asking needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE, and the "
                         "id's slot must be free",
                         next_id_name(o->type));
}

int restore_entry(const struct scan_config *scan, const char *archive_dir, const char *entry,
                  struct restore_result *ret) {
        return restore_entry_in(scan, archive_dir, entry, 0, ret);
}

/* The entry ENTRY of the archive ARCHIVE_DIR found, *F its place (F->fd
 * the caller's to close once this returns 0), its manifest read into O,
 * WHY and C.  *STEP (may be NULL) says how far it got. */
static int entry_read(const char *archive_dir, const char *entry, struct archive_found *f, struct ipc_object *o,
                      struct archive_removal *why, struct archive_contents *c, enum restore_step *step) {
        _cleanup_close_ int afd = -EBADF;
        int r;

        r = archive_open_dir(archive_dir, 0, &afd);
        if (r < 0)
                return r;
        if (step)
                *step = RESTORE_STEP_ENTRY;
        if (!archive_name_ok(entry))
                return -EINVAL;
        r = archive_entry_find(afd, entry, f);
        if (r < 0)
                return r;
        r = archive_manifest_read(f, o, why, c);
        if (r < 0)
                (void) close(f->fd);
        return r;
}

int restore_entry_origin(const char *archive_dir, const char *entry, uint64_t *ret_ipcns, char **ret_container) {
        _cleanup_close_ int efd = -EBADF;
        struct archive_found f;
        struct ipc_object o = {};
        struct archive_removal why = {};
        struct archive_contents c = {};
        int r;

        r = entry_read(archive_dir, entry, &f, &o, &why, &c, NULL);
        if (r < 0)
                return r;
        efd = f.fd;
        ipc_object_done(&o);
        *ret_ipcns = why.ipcns;
        *ret_container = TAKE_PTR(why.container);
        archive_removal_done(&why);
        return 0;
}

int restore_entry_in(const struct scan_config *scan, const char *archive_dir, const char *entry, uint64_t ipcns,
                     struct restore_result *ret) {
        _cleanup_close_ int pfd = -EBADF;
        _cleanup_free_ char *base = NULL;
        _cleanup_close_ int efd = -EBADF;
        struct archive_found f;
        struct ipc_object o = {};
        struct archive_removal why = {};
        struct archive_contents c = {};
        struct child_report rep = {};
        int r;

        *ret = (struct restore_result) { .step = RESTORE_STEP_ARCHIVE };
        r = entry_read(archive_dir, entry, &f, &o, &why, &c, &ret->step);
        if (r < 0)
                return r;
        efd = f.fd;
        if (why.ipcns != ipcns) {
                /* Made here, its key or name could be a program's of this
                 * namespace: it goes back by a helper in its own, or not
                 * at all. */
                if (why.ipcns)
                        snprintf(ret->note, sizeof(ret->note),
                                 "removed from IPC namespace %" PRIu64
                                 "%s%.64s%s, not this one: it is put back only where it was",
                                 why.ipcns, why.container ? " (" : "", strempty(why.container),
                                 why.container ? ")" : "");
                else
                        snprintf(ret->note, sizeof(ret->note),
                                 "removed from ipcgc's own IPC namespace, not this one: it is put back only where it was");
                archive_removal_done(&why);
                ipc_object_done(&o);
                return -EXDEV;
        }
        archive_removal_done(&why);
        ret->type = o.type;
        ret->key = o.key;
        ret->old_id = ipc_object_id(&o);
        if (!ret->old_id) {
                r = -ENOMEM;
                goto out;
        }

        if (ipc_type_is_file(o.type)) {
                ret->step = RESTORE_STEP_PLACE;
                r = collect_open_parent(&o, scan, &pfd, &base);
                if (r < 0) {
                        snprintf(ret->note, sizeof(ret->note), "%s",
                                 o.type == IPC_TYPE_FIFO && r == -ENOENT ? "the FIFO's directory is not under FifoDirs="
                                 : o.type == IPC_TYPE_MQ                 ? "MqueueDir="
                                 : o.type == IPC_TYPE_FIFO               ? "the FIFO's directory"
                                                                         : "ShmDir=");
                        goto out;
                }
        }

        ret->step = RESTORE_STEP_CREATE;
        if (taken(&o, scan, pfd, base, ret->holder)) {
                r = -EEXIST;
                goto out;
        }
        r = create_in_child(&o, &f.contents, pfd, base, &c, &rep);
        if (r == 0)
                r = rep.r;
        if (r == -EEXIST && !ret->holder[0])
                (void) taken(&o, scan, pfd, base, ret->holder); /* taken in between */
        if (r < 0)
                goto out;

        if (ipc_type_is_sysv(o.type)) {
                ret->same_id = rep.same_id;
                if (!rep.same_id)
                        why_new_id(&o, ret->note);
                o.id = rep.id;
        } else
                ret->same_id = true;
        ret->id = ipc_object_id(&o);
        r = ret->id ? 0 : -ENOMEM;
out:
        ipc_object_done(&o);
        return r;
}
