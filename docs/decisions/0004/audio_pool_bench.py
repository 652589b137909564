"""Thread pool or process pool for call-audio analysis? (docs/decisions/0004)

    .venv/bin/python docs/decisions/0004/audio_pool_bench.py [WORKDIR]

Writes 8 simulated 300 s stereo calls, analyses them serially, in ThreadPoolExecutor(2) and in
ProcessPoolExecutor(2, spawn) while a coroutine measures how late the event loop wakes up
(what the AMI reader would suffer), and times a bare webrtcvad loop in 1 vs 2 threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

from collectors.audio.analysis import analyze_files
from monitor.record import Span
from monitor.simulator.recordings import AudioStyle, RecordingJob, write_recording


def job(path: Path) -> tuple[Span, ...]:
    return analyze_files([path], answer_at=0.0).dead_air


async def pooled(kind: str, paths: list[Path]) -> None:
    loop = asyncio.get_running_loop()
    ex: cf.Executor
    if kind == "thread":
        ex = cf.ThreadPoolExecutor(2)
    else:
        ex = cf.ProcessPoolExecutor(2, mp_context=mp.get_context("spawn"))
        await asyncio.gather(*[loop.run_in_executor(ex, job, paths[0]) for _ in range(2)])
    lags: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            t = loop.time()
            await asyncio.sleep(0.005)
            lags.append(loop.time() - t - 0.005)

    tick = asyncio.create_task(ticker())
    t0 = time.perf_counter()
    await asyncio.gather(*[loop.run_in_executor(ex, job, p) for p in paths])
    wall = time.perf_counter() - t0
    done = True
    await tick
    ex.shutdown()
    lags.sort()
    p99 = lags[int(len(lags) * 0.99)] * 1000
    print(f"{kind:7s}: {len(paths)} x 300 s calls in {wall:.2f} s; event-loop lag "
          f"p50 {lags[len(lags) // 2] * 1000:.1f} ms, p99 {p99:.1f} ms")  # fmt: skip


def bare_vad() -> None:
    import webrtcvad

    buf = os.urandom(480)

    def loop(n: int = 200_000) -> None:
        vad = webrtcvad.Vad(3)
        for _ in range(n):
            vad.is_speech(buf, 8000)

    t = time.perf_counter()
    loop()
    loop()
    serial = time.perf_counter() - t
    threads = [threading.Thread(target=loop) for _ in range(2)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    print(f"bare webrtcvad 2 x 200k frames: one thread {serial:.2f} s, "
          f"two threads {time.perf_counter() - t:.2f} s")  # fmt: skip


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    paths = []
    for i in range(8):
        p = work / f"call-{i}.wav"
        if not p.exists():
            write_recording(
                RecordingJob(p, str(i), 0.0, 300.0, ((100.0, 140.0),), AudioStyle(seed=i))
            )
        paths.append(p)
    for p in paths:  # warm
        job(p)
    t = time.perf_counter()
    for p in paths:
        job(p)
    print(f"serial : {len(paths)} x 300 s calls in {time.perf_counter() - t:.2f} s")
    for kind in ("thread", "process"):
        asyncio.run(pooled(kind, paths))
    bare_vad()


if __name__ == "__main__":
    main()
