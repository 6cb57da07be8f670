"""The client-side rate limit of TagResource/UntagResource (``apply.TokenBucket``), on a fake
clock: counted, not timed."""

from __future__ import annotations

import threading

import pytest

from tablesmith.apply import TAG_CALLS_PER_SECOND, TAG_LIMITS, TokenBucket


class FakeClock:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.lock = threading.Lock()

    def time(self) -> float:
        with self.lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def starts(bucket: TokenBucket, clock: FakeClock, calls: int) -> list[float]:
    """When each of ``calls`` sequential callers may start (the clock after acquire)."""
    times = []
    for _ in range(calls):
        bucket.acquire()
        times.append(clock.time())
    return times


def most_in_any_second(times: list[float]) -> int:
    return max(sum(1 for t in times if start <= t < start + 1.0 - 1e-9) for start in times)


def test_calls_are_spaced_at_the_rate_from_the_first() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5.0, clock=clock.time, sleep=clock.sleep)
    times = starts(bucket, clock, 1000)
    assert times[0] == 100.0  # the first call does not wait
    assert times[-1] == pytest.approx(100.0 + 999 / 5.0)  # 1,000 calls take 199.8 s
    assert most_in_any_second(times) == 5


def test_a_quiet_spell_allows_a_burst_of_burst_calls_only() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5.0, burst=3, clock=clock.time, sleep=clock.sleep)
    clock.sleep(60.0)  # idle for a minute: the bucket holds 3 tokens, not 300
    waits = [bucket.acquire() for _ in range(4)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert waits[3] == pytest.approx(0.2)


def test_threads_queue_in_order_without_exceeding_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(5.0, clock=clock.time, sleep=lambda s: None)  # reservations only
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(25):
            wait = bucket.acquire()
            with lock:
                waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 200 reservations at one instant: each one 0.2 s after the one before
    assert sorted(waits) == pytest.approx([i / 5.0 for i in range(200)])


def test_the_apply_limits_are_dynamodbs_documented_ones_with_headroom() -> None:
    assert TAG_CALLS_PER_SECOND == 5.0
    for name in ("tag_resource", "untag_resource"):
        bucket = TAG_LIMITS[name]
        assert bucket.burst == 1
        # six calls never start within one second, even if each is delayed by 100 ms
        assert 5 / bucket.rate - 0.1 > 1.0


def test_a_bucket_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="rate > 0"):
        TokenBucket(0.0)
