"""The sliding-window pacer, on a fake clock: never more than the budget in any window (counted at
the server, whatever the latency), the whole burst first and then one per request that leaves,
the 429 pause, the shared pacer of one migration, and its window carried to the run's next process."""

from __future__ import annotations

import asyncio
import heapq
import random

import pytest

from wizard.core.journal import Journal
from wizard.core.pacing import (
    WINDOW_DOCUMENT,
    WRITE_BUDGET,
    Budget,
    Pacer,
    SlidingWindow,
    save_window,
    shared_pacer,
)


class FakeClock:
    """Monotonic and wall clocks that move only when told; answers arrive when their time comes."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.answers: list[tuple[float, int, object]] = []  # (answered at, seq, slot)
        self._seq = 0

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return 1_700_000_000.0 + self.now

    def answer_in(self, latency: float, slot) -> None:
        self._seq += 1
        heapq.heappush(self.answers, (self.now + latency, self._seq, slot))

    def sleep(self, seconds: float) -> None:
        """Advance, delivering every answer due on the way (each at its own moment)."""
        target = self.now + seconds
        while self.answers and self.answers[0][0] <= target:
            at, _, slot = heapq.heappop(self.answers)
            self.now = max(self.now, at)
            slot.done()
        self.now = target


def simulate(pacer: Pacer, clock: FakeClock, n: int, latency: float, *, reads: bool = False) -> list[float]:
    """Send `n` requests with unlimited concurrency, each answered `latency` later: send times."""
    sends = []
    for _ in range(n):
        slot = (pacer.read_sync if reads else pacer.write_sync)(sleep=clock.sleep)
        sends.append(clock.now)
        clock.answer_in(latency, slot)
    return sends


def most_in_any_window(times: list[float], window: float) -> int:
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def make_pacer(clock: FakeClock, write: Budget = WRITE_BUDGET, **kw) -> Pacer:
    return Pacer(write, clock=clock.monotonic, wall=clock.wall, **kw)


@pytest.mark.parametrize("latency", [0.0, 0.05, 0.25, 3.0])
def test_never_more_than_the_budget_in_any_window_at_the_server(latency):
    clock = FakeClock()
    pacer = make_pacer(clock)
    sends = simulate(pacer, clock, 2600, latency)
    # the server counts on arrival, anywhere between the send and the answer
    for arrival_share in (0.0, 0.5, 1.0):
        arrivals = sorted(t + latency * arrival_share for t in sends)
        assert most_in_any_window(arrivals, 10.0) == 500
    # and when each request reaches it at a different point of its round trip (a burst over new
    # connections arrives late, the next over warm ones early): a send-time window would fail here
    rng = random.Random(17)
    arrivals = sorted(t + rng.uniform(0.0, latency) for t in sends)
    assert most_in_any_window(arrivals, 10.0) <= 500


def test_the_whole_burst_goes_first_then_one_for_each_that_leaves_the_window():
    clock = FakeClock()
    pacer = make_pacer(clock)
    start = clock.now
    sends = simulate(pacer, clock, 1700, 0.25)
    assert all(t == start for t in sends[:500])  # the first 500 at once
    # then one for each that leaves: the 501st when the first answer is 10 s old
    assert sends[500] == pytest.approx(start + 10.25)
    assert all(t == pytest.approx(start + 10.25) for t in sends[500:1000])
    assert sends[1000] == pytest.approx(start + 20.5)
    # N requests take (N - 500) / 50 s plus one latency per window cycle
    assert sends[-1] - start == pytest.approx(3 * 10.25)


def test_margin_and_a_smaller_budget_are_honoured():
    clock = FakeClock()
    pacer = make_pacer(clock, Budget(20, 1.0), margin=0.9)
    sends = simulate(pacer, clock, 200, 0.01)
    assert most_in_any_window(sends, 1.0) == 18
    reads = simulate(pacer, clock, 1200, 0.01, reads=True)
    assert most_in_any_window(reads, 10.0) == 900


def test_per_key_window_bounds_reads_and_writes_together():
    clock = FakeClock()
    pacer = make_pacer(clock, total=Budget(600, 60.0))
    both = sorted(simulate(pacer, clock, 400, 0.1) + simulate(pacer, clock, 400, 0.1, reads=True))
    assert most_in_any_window(both, 60.0) == 600


def test_a_slot_never_reported_done_is_held_a_while_past_its_window():
    clock = FakeClock()
    pacer = make_pacer(clock, Budget(3, 10.0), unreported_hold=5.0)
    start = clock.now
    sends = []
    for _ in range(6):
        pacer.write_sync(sleep=clock.sleep)  # nobody calls done()
        sends.append(clock.now - start)
    assert sends == [0, 0, 0, pytest.approx(15.0), pytest.approx(15.0), pytest.approx(15.0)]


def test_an_unreported_slot_is_held_from_when_it_was_sent_not_taken():
    clock = FakeClock()
    pacer = make_pacer(clock, Budget(1, 10.0), unreported_hold=5.0)
    start = clock.now
    slot = pacer.write_sync(sleep=clock.sleep)
    clock.sleep(3.0)  # work between taking the slot and sending (a journal write, say)
    slot.sent()  # and its answer is never reported
    pacer.write_sync(sleep=clock.sleep)
    assert clock.now - start == pytest.approx(3.0 + 5.0 + 10.0)


def test_a_429_pauses_everyone_then_resumes_at_the_steady_rate_not_a_burst():
    clock = FakeClock()
    pacer = make_pacer(clock, Budget(10, 10.0))
    message = pacer.pause_after_429(4)
    assert "pausing 4.0 s" in message and pacer.paused
    assert pacer.paused_until == pytest.approx(clock.wall() + 4)
    start = clock.now
    sends = [t - start for t in simulate(pacer, clock, 10, 0.0)]
    assert sends[0] >= 4.0  # nothing before Retry-After
    gaps = [b - a for a, b in zip(sends, sends[1:], strict=False)]
    assert all(g == pytest.approx(1.0, abs=0.03) for g in gaps)  # 10 per 10 s, evenly


def test_a_429_without_retry_after_backs_off_1_2_4_up_to_the_default_pause():
    clock = FakeClock()
    pacer = make_pacer(clock, default_pause=4.0)
    waits = []
    for _ in range(4):
        pacer.pause(None)
        waits.append(round(pacer.paused_until - clock.wall(), 3))
        clock.sleep(pacer.paused_until - clock.wall())
    assert waits == [1.0, 2.0, 4.0, 4.0]


def test_async_callers_in_two_event_loops_share_one_window():
    pacer = Pacer(Budget(4, 60.0))
    taken = []

    async def take(n):
        for _ in range(n):
            taken.append(await pacer.write())

    asyncio.run(take(2))
    asyncio.run(take(2))  # a second loop (the wizard runs each job in its own)
    assert pacer.writes.count(pacer._clock()) == 4
    assert pacer.writes.wait(pacer._clock())[0] > 0  # full: the next waits
    for slot in taken:
        slot.done()


def test_shared_pacer_is_one_per_migration_and_environment(tmp_path):
    with Journal.open(tmp_path / "a") as a, Journal.open(tmp_path / "b") as b:
        p = shared_pacer("http://127.0.0.1:1/", a)
        assert shared_pacer("http://127.0.0.1:1", a) is p
        assert shared_pacer("http://127.0.0.1:1", b) is not p
        assert shared_pacer("http://127.0.0.1:2", a) is not p
        assert shared_pacer("http://127.0.0.1:1", a, write=Budget(100, 10.0)) is p
        assert p.writes.capacity == 100


def test_the_trailing_window_carries_to_the_next_process_of_the_run(tmp_path):
    clock = FakeClock()
    first = make_pacer(clock, Budget(5, 10.0))
    simulate(first, clock, 5, 0.2)
    clock.sleep(3.0)  # answers arrive; the window now ends 10.2 s after the start
    with Journal.open(tmp_path / "run") as journal:
        save_window(journal, first)
        saved = journal.get_document(WINDOW_DOCUMENT)
        assert len(saved["writes"]) == 5
        second = make_pacer(clock, Budget(5, 10.0))  # a new process, same clocks
        second.restore_window(saved)
    start = clock.now
    slot = second.write_sync(sleep=clock.sleep)
    slot.done()
    assert clock.now - start == pytest.approx(10.2 - 3.0, abs=0.05)  # waited for the old window


def test_sliding_window_rejects_a_margin_out_of_range():
    with pytest.raises(ValueError):
        SlidingWindow(Budget(10, 1.0), margin=0)
