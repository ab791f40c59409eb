/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * archive-show: one archive entry's parts, for the tests.
 *
 *   archive-show DIR ENTRY manifest     its manifest's text
 *   archive-show DIR ENTRY contents     its contents' bytes
 *   archive-show DIR ENTRY pack         the name of the pack holding it
 *   archive-show DIR ENTRY copy NAME MANIFEST CONTENTS
 *       writes a new pack NAME.pack into DIR holding one entry NAME: the
 *       manifest from the file MANIFEST and the contents from the file
 *       CONTENTS, each "-" for ENTRY's own.  Written here from the format
 *       in lib/archive.h, not by the library, so a test can hand the
 *       reader what the library would never write.
 *
 * Exits 1 with the error's name (ENOENT...) on stdout when ENTRY is not
 * found.  Only ever run inside the test's private namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "archive.h"

static int fail(const char *what, int r) {
        const char *name = strerrorname_np(-r);
        printf("%s\n", name ? name : "E?");
        fprintf(stderr, "archive-show: %s: %s\n", what, strerror(-r));
        return 1;
}

/* Copies LEN bytes of IN from OFF (to its end for UINT64_MAX) to OUT. */
static int copy(int in, off_t off, uint64_t len, int out) {
        char buf[65536];
        while (len > 0) {
                ssize_t n = pread(in, buf, len < sizeof(buf) ? (size_t) len : sizeof(buf), off);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return len == UINT64_MAX ? 0 : -EIO;
                if (write(out, buf, (size_t) n) != n)
                        return -EIO;
                off += n;
                if (len != UINT64_MAX)
                        len -= (uint64_t) n;
        }
        return 0;
}

/* Appends the file PATH ("-": IN's bytes from OFF, LEN of them) to OUT at
 * its end; *RET_LEN what was written. */
static int append(int out, const char *path, int in, off_t off, uint64_t len, uint64_t *ret_len) {
        off_t start = lseek(out, 0, SEEK_END);
        int r;
        if (strcmp(path, "-") == 0)
                r = copy(in, off, len, out);
        else {
                int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return -errno;
                r = copy(fd, 0, UINT64_MAX, out);
                close(fd);
        }
        *ret_len = (uint64_t) (lseek(out, 0, SEEK_END) - start);
        return r;
}

static void pad8(int fd) {
        off_t end = lseek(fd, 0, SEEK_END);
        static const char zero[8];
        if (end % 8)
                (void) write(fd, zero, (size_t) (8 - end % 8));
}

int main(int argc, char **argv) {
        struct archive_found f;
        int afd, r;

        if (argc < 4) {
                fprintf(stderr, "usage: archive-show DIR ENTRY manifest|contents|pack|copy NAME MANIFEST CONTENTS\n");
                return 2;
        }
        r = archive_open_dir(argv[1], 0, &afd);
        if (r < 0)
                return fail(argv[1], r);
        r = archive_entry_find(afd, argv[2], &f);
        if (r < 0)
                return fail(argv[2], r);
        if (strcmp(argv[3], "manifest") == 0)
                r = copy(f.fd, f.manifest_offset, f.manifest_length, 1);
        else if (strcmp(argv[3], "contents") == 0)
                r = copy(f.fd, f.contents.offset, f.contents.length, 1);
        else if (strcmp(argv[3], "pack") == 0)
                r = printf("%s\n", f.pack) < 0 ? -EIO : 0;
        else if (strcmp(argv[3], "copy") == 0 && argc == 7) {
                char pack[ARCHIVE_NAME_MAX + 8], index[1024];
                uint64_t clen = 0, mlen = 0;
                snprintf(pack, sizeof(pack), "%s.pack", argv[4]);
                int out = openat(afd, pack, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (out < 0)
                        return fail(pack, -errno);
                r = append(out, argv[6], f.fd, f.contents.offset, f.contents.length, &clen);
                pad8(out);
                off_t moff = lseek(out, 0, SEEK_END);
                if (r >= 0)
                        r = append(out, argv[5], f.fd, f.manifest_offset, f.manifest_length, &mlen);
                pad8(out);
                off_t ioff = lseek(out, 0, SEEK_END);
                int n = snprintf(index, sizeof(index),
                                 "{\"format\":\"%s\",\"entries\":[{\"entry\":\"%s\",\"manifest\":[%lld,%llu],"
                                 "\"contents\":[0,%llu]}]}",
                                 ARCHIVE_PACK_FORMAT, argv[4], (long long) moff, (unsigned long long) mlen,
                                 (unsigned long long) clen);
                struct {
                        char magic[16];
                        uint64_t index_offset, index_length, entries;
                } t = { .index_offset = (uint64_t) ioff, .index_length = (uint64_t) n, .entries = 1 };
                memcpy(t.magic, "ipcgc-pack 1\n\0\0", sizeof(t.magic));
                if (r >= 0 && (write(out, index, (size_t) n) != n || write(out, &t, sizeof(t)) != sizeof(t)))
                        r = -EIO;
                close(out);
        } else {
                fprintf(stderr, "archive-show: unknown request %s\n", argv[3]);
                return 2;
        }
        if (r < 0)
                return fail(argv[3], r);
        return 0;
}
