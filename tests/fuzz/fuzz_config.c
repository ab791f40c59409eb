/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* config_load() with drop-ins, and config_load_socket() over the same files.
 * The input is the main file, then up to two drop-ins, each after a line
 * "%%": DIR/ipcgc.conf, DIR/conf.d/10-fuzz.conf, DIR/conf.d/20-fuzz.conf. */
#include "config.h"
#include "fuzz.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const files[] = { "ipcgc.conf", "conf.d/10-fuzz.conf", "conf.d/20-fuzz.conf" };
        const uint8_t *p = data, *end = data + size, *piece;
        const char *dir = fuzz_dir();
        char path[PATH_MAX];

        for (size_t i = 0; i < ELEMENTSOF(files) && (i == 0 || p < end); i++) {
                size_t n = i + 1 < ELEMENTSOF(files) ? fuzz_piece(&p, end, "%%", &piece)
                                                      : (size_t) (end - (piece = p));
                fuzz_write(dir, files[i], piece, n);
        }
        snprintf(path, sizeof(path), "%s/ipcgc.conf", dir);

        struct config *c = NULL;
        char *error = NULL;
        int r = config_load(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, &c, &error);
        if (r < 0) {
                /* *ret is untouched on failure; a bad file says where. */
                if (c)
                        abort();
                if (r == -EINVAL && (!error || strncmp(error, dir, strlen(dir)) != 0))
                        abort();
        } else {
                if (!c || error)
                        abort();
                for (size_t i = 0; i < c->n_rules; i++)
                        if (!c->rules[i].name || !c->rules[i].file)
                                abort();
                config_free(c);
        }
        free(error);

        char *socket = NULL, *warning = NULL;
        r = config_load_socket(path, CONFIG_MUST_EXIST | CONFIG_DROPINS, &socket, &warning);
        if (r == 0 && !socket)
                abort();
        free(socket);
        free(warning);
        return 0;
}
