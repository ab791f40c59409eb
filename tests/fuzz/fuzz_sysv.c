/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysv_parse() over a /proc/sysvipc file: the first byte picks shm, msg or
 * sem, the rest is the file's text. */
#include "fuzz.h"
#include "ipc_object.h"
#include "sysv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const enum ipc_type types[] = { IPC_TYPE_SHM, IPC_TYPE_MSG, IPC_TYPE_SEM };
        struct inventory *inv = NULL;
        FILE *f;

        if (size < 1)
                return 0;
        enum ipc_type type = types[data[0] % 3];
        data++, size--;
        if (inventory_new(&inv) < 0)
                abort();
        /* fmemopen of zero bytes is EINVAL on older glibc: an empty file
         * is "" plus the mode that reads none of it. */
        f = fmemopen(size ? (void *) data : (void *) "", size ? size : 1, "r");
        if (!f)
                abort();
        if (!size)
                (void) fgetc(f);
        (void) sysv_parse(type, f, "fuzz", inv);
        /* Whatever was appended must be whole: read every string back. */
        for (size_t i = 0; i < inv->n_objects; i++)
                free(ipc_object_id(&inv->objects[i]));
        /* And the index a later sweep looks them up in finds each one. */
        struct inventory_index *x = NULL;
        if (inventory_index_new(inv, &x) == 0) {
                for (size_t i = 0; i < inv->n_objects; i++)
                        if (!inventory_index_find(x, &inv->objects[i]))
                                abort();
                inventory_index_free(x);
        }
        for (size_t i = 0; i < inv->n_warnings; i++)
                if (strlen(inv->warnings[i]) == (size_t) -1)
                        abort();
        fclose(f);
        inventory_free(inv);
        return 0;
}
