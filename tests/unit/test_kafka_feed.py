"""The Kafka plugin's feed machinery without a broker: Tails tells the feeds of a partition, and
only those, about this plugin's writes; the consumer pool reuses consumers, unassigns them when
taken back and keeps at most MAX_IDLE of them."""

from __future__ import annotations

from prism_kafka import feed


class Watcher:
    def __init__(self) -> None:
        self.told: list[int] = []

    def written(self, next_offset: int) -> None:
        self.told.append(next_offset)


class FakeConsumer:
    def __init__(self) -> None:
        self.unassigned = self.closed = 0

    def unassign(self) -> None:
        self.unassigned += 1

    def close(self) -> None:
        self.closed += 1


def test_tails_tell_the_watchers_of_the_written_partition_only():
    tails, a, b = feed.Tails(), Watcher(), Watcher()
    tails.watch("t", 0, a)
    tails.watch("t", 1, b)
    tails.written("t", 0, 5)
    tails.written("u", 0, 9)
    assert (a.told, b.told) == ([5], [])
    tails.unwatch("t", 0, a)
    tails.written("t", 0, 6)
    assert a.told == [5]
    tails.unwatch("t", 0, a)  # twice is harmless


def test_the_pool_reuses_unassigned_consumers_and_bounds_the_idle_ones():
    made: list[FakeConsumer] = []

    def make() -> FakeConsumer:
        made.append(FakeConsumer())
        return made[-1]

    pool = feed.ConsumerPool(make)  # type: ignore[arg-type]
    first = pool.acquire()
    pool.release(first)
    assert first.consumer.unassigned == 1 and not first.consumer.closed
    assert pool.acquire() is first and pool.created == 1
    taken = [pool.acquire() for _ in range(feed.MAX_IDLE + 2)]
    for pooled in [first, *taken]:
        pool.release(pooled)
    assert pool.created == feed.MAX_IDLE + 3
    assert sum(c.closed for c in made) == 3  # beyond MAX_IDLE idle consumers are closed
    pool.close()
    assert all(c.closed == 1 for c in made)
    again = pool.acquire()
    pool.release(again)  # a closed pool closes what it is given back
    assert again.consumer.closed == 1
