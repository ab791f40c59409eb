/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "ipc_object.h"

/*
 * Putting an archived object back (`ipcgc restore ENTRY`): the entry of
 * the archive (lib/archive.h) is read, the key or name checked to be free,
 * and the object made again by archive_sysv_restore() or
 * archive_posix_restore() in a short-lived child.  The entry stays in the
 * archive: a second restore of it finds the key or name taken (-EEXIST),
 * and once the object is removed again, a new entry is written for it.
 */

/* How far a restore got, for the caller to say what failed. */
enum restore_step {
        RESTORE_STEP_ARCHIVE, /* opening the archive directory */
        RESTORE_STEP_ENTRY,   /* the entry: its name, its directory, its manifest */
        RESTORE_STEP_PLACE,   /* opening the directory the object's name lives in */
        RESTORE_STEP_CREATE,  /* checking the key or name, making the object */
};

#define RESTORE_TEXT_MAX 256

struct restore_result {
        char *id;     /* the object's id now: "shm:9", "pshm:/name" (malloc'd) */
        char *old_id; /* its id when it was archived: "shm:5" (malloc'd); set once the manifest is read */
        enum ipc_type type;
        int32_t key;            /* SysV */
        bool same_id;           /* SysV: it has the id it had; named objects: always */
        enum restore_step step; /* the step that failed */
        /* SysV, !same_id: why the old id could not be had again; on a
         * failure at RESTORE_STEP_PLACE: the directory that could not be
         * opened. */
        char note[RESTORE_TEXT_MAX];
        /* -EEXIST: who holds the key or name now, e.g. "key 0x0000abcd is
         * taken now by shm:7 (uid 1000)", "/dev/shm/foo is taken now (uid
         * 1000, inode 1234)". */
        char holder[RESTORE_TEXT_MAX];
};

void restore_result_done(struct restore_result *r);

/*
 * Restores the entry ENTRY (a name as archive_list() gives it) of the
 * archive ARCHIVE_DIR.  ENTRY with a '/' or a leading '.' is -EINVAL; it
 * is opened with O_DIRECTORY | O_NOFOLLOW under the archive's fd, so a
 * symlink planted there is never followed (-ELOOP or -ENOTDIR), and a
 * missing one is -ENOENT; a manifest that does not read is -EBADMSG.
 * SysV objects are made in this IPC namespace with their key; named ones
 * where SCAN puts them (ShmDir=, MqueueDir=, a FIFO's directory under
 * FifoDirs=, reached without following a symlink: a FIFO whose directory
 * is not under FifoDirs= any more is refused, -ENOENT at
 * RESTORE_STEP_PLACE).  A key (not IPC_PRIVATE) or name taken now is
 * -EEXIST with ->holder saying by what; the restore itself is exclusive
 * (IPC_EXCL, O_EXCL), so one taken in between is -EEXIST too.  Otherwise
 * archive_sysv_restore()'s and archive_posix_restore()'s errors.
 *
 * *RET is reset first and filled as far as the restore got (->step says
 * where it failed); call restore_result_done() whatever the return.
 */
int restore_entry(const struct scan_config *scan, const char *archive_dir, const char *entry,
                  struct restore_result *ret);
/* As restore_entry, by a process in the IPC namespace of inode IPCNS (0:
 * ipcgc's own): an entry removed from any other is -EXDEV at
 * RESTORE_STEP_ENTRY, ->note saying where it came from.  For the helper
 * (nshelper_restore) in the namespace it came from. */
int restore_entry_in(const struct scan_config *scan, const char *archive_dir, const char *entry, uint64_t ipcns,
                     struct restore_result *ret);
/* Where ENTRY was removed from: its IPC namespace's inode (0: ipcgc's own)
 * and name (malloc'd; NULL: none), from its manifest alone. */
int restore_entry_origin(const char *archive_dir, const char *entry, uint64_t *ret_ipcns, char **ret_container);
