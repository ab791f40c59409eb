/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * no-stat-any: run a program as on a kernel before Linux 4.17, which does not
 * know SHM_STAT_ANY, MSG_STAT_ANY or SEM_STAT_ANY and answers EINVAL, as to
 * any command it does not know.
 *
 *   no-stat-any PROGRAM [ARG...]
 *
 * A seccomp filter (raw BPF, so no libseccomp) makes those three commands of
 * shmctl, msgctl and semctl fail with EINVAL; every other call goes through.
 * Only x86_64 is filtered: elsewhere the syscall numbers and the ipc(2)
 * multiplexer differ, and the program runs unfiltered.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SHM_STAT_ANY
#define SHM_STAT_ANY 15
#endif
#ifndef MSG_STAT_ANY
#define MSG_STAT_ANY 13
#endif
#ifndef SEM_STAT_ANY
#define SEM_STAT_ANY 20
#endif
/* linux/ipc.h, which clashes with sys/ipc.h: the "64-bit structures" flag a
 * libc may add to the command. */
#define IPC_64 0x0100

/* The low 32 bits of argument I (x86_64 is little-endian): the command is an int. */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

/* If the call is SYSNO, and its argument ARG (less IPC_64) is CMD: EINVAL.
 * Otherwise on to the next block, which loads the syscall number again. */
#define DENY_CMD(sysno, arg, cmd)                                                                                      \
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),                                         \
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (sysno), 0, 4),                                                    \
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(arg)),                                                       \
                BPF_STMT(BPF_ALU | BPF_AND | BPF_K, ~(uint32_t) IPC_64),                                               \
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (cmd), 0, 1),                                                      \
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EINVAL)

int main(int argc, char **argv) {
        struct sock_filter filter[] = {
                BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
                BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 3 * 6),
                DENY_CMD(__NR_shmctl, 1, SHM_STAT_ANY),
                DENY_CMD(__NR_msgctl, 1, MSG_STAT_ANY),
                DENY_CMD(__NR_semctl, 2, SEM_STAT_ANY),
                BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        };
        struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

        if (argc < 2) {
                fprintf(stderr, "usage: no-stat-any PROGRAM [ARG...]\n");
                return 2;
        }
        /* Without CAP_SYS_ADMIN a filter needs no_new_privs first; with it,
         * no_new_privs costs the tests nothing. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0) {
                perror("no-stat-any: seccomp");
                return 1;
        }
        execvp(argv[1], argv + 1);
        fprintf(stderr, "no-stat-any: %s: %m\n", argv[1]);
        return 127;
}
