"""A multiprocessing program (spawn) that keeps running, for test-python.sh.

With the spawn start method, multiprocessing.Semaphore and Lock are POSIX
named semaphores (/dev/shm/sem.mp-*), unlinked at exit by the resource
tracker; SharedMemory makes /dev/shm/psm_*.  Two segments:
  board  the counter the workers add to.  The main process maps it until
         told "release"; from then on only a worker that is running a task
         maps it, so between rounds of work no process has it open or mapped
         (PostgreSQL's pinned segments are the same).
  data   mapped by the main process all along.
A pool of 3 workers, each replaced after 40 tasks, does the work.

Commands on stdin, one a line; answers on stdout:
  release        -> "released"
  work N         -> "done N ok" when the workers' N additions all arrived
                    in the board (or "done N bad GOT WANT")
  end of input   -> a clean exit: pool closed, segments unlinked
"""
import multiprocessing as mp
import os
import sys
import time
from multiprocessing import shared_memory

_lock = None
_slots = None


def init(lock, slots):
    global _lock, _slots
    _lock, _slots = lock, slots


def work(task):
    board_name, data_name, i = task
    with _slots:  # at most 2 tasks at a time
        board = shared_memory.SharedMemory(name=board_name)
        data = shared_memory.SharedMemory(name=data_name)
        try:
            with _lock:
                v = int.from_bytes(board.buf[0:8], "little")
                board.buf[0:8] = (v + i).to_bytes(8, "little")
            data.buf[i % 4096] = i % 256
            time.sleep(0.001)  # the board stays mapped a little while
        finally:
            board.close()
            data.close()
    return i


def board_value(name):
    s = shared_memory.SharedMemory(name=name)
    try:
        return int.from_bytes(s.buf[0:8], "little")
    finally:
        s.close()


def main():
    mp.set_start_method("spawn")
    lock = mp.Lock()
    slots = mp.Semaphore(2)
    board = shared_memory.SharedMemory(create=True, size=4096)
    data = shared_memory.SharedMemory(create=True, size=65536)
    pool = mp.Pool(3, initializer=init, initargs=(lock, slots), maxtasksperchild=40)
    expected = 0
    print("ready", os.getpid(), board.name, data.name, flush=True)
    for line in sys.stdin:
        words = line.split()
        if words == ["release"]:
            board.close()
            print("released", flush=True)
        elif len(words) == 2 and words[0] == "work":
            n = int(words[1])
            total = sum(pool.imap_unordered(work, [(board.name, data.name, i) for i in range(n)], chunksize=4))
            expected += n * (n - 1) // 2
            got = board_value(board.name)
            if total == n * (n - 1) // 2 and got == expected:
                print("done", n, "ok", flush=True)
            else:
                print("done", n, "bad", got, expected, flush=True)
        else:
            print("unknown command", line.strip(), flush=True)
    pool.close()
    pool.join()
    board.unlink()
    data.close()
    data.unlink()


if __name__ == "__main__":
    main()
