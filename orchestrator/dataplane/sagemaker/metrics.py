"""Endpoint metrics as SageMaker publishes them, aggregated per minute, through an injectable sink.

`AWS/SageMaker` (dims EndpointName, VariantName): Invocations, Invocation4XXErrors,
Invocation5XXErrors, InvocationModelErrors (Count), InvocationsPerInstance (Count: invocations divided
by the variant's instance count), ModelLatency and OverheadLatency (Microseconds, as ``Values``/``Counts``
so that their percentiles exist: :mod:`orchestrator.dataplane.metric_distribution`).
ModelLatency is measured by the front end from handing the request to the instance to its answer (IPC
included, as SageMaker measures it from outside the container); OverheadLatency is the rest of the
request's time in the runtime.

`/aws/sagemaker/Endpoints` (same dims): CPUUtilization (0-100 x cores, summed over an instance's
worker processes, from /proc/<pid>/stat), MemoryUtilization (their RSS over MemTotal, %) and
DiskUtilization (of the file system holding the model, %), one sample per instance per minute.

The hot path only bumps counters on a per-variant object; the publisher swaps the objects at each
minute boundary and sends PutMetricData-shaped data (timestamp = start of that minute).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from orchestrator.dataplane.metric_distribution import Distribution

log = logging.getLogger(__name__)

NS_INVOCATIONS = "AWS/SageMaker"
NS_INSTANCES = "/aws/sagemaker/Endpoints"


class MetricsSink(Protocol):
    def put_metric_data(self, namespace: str, metric_data: list[dict[str, Any]]) -> None: ...


class InMemoryMetricsSink:
    """Keeps every datum (tests)."""

    def __init__(self) -> None:
        self.data: list[tuple[str, dict[str, Any]]] = []

    def put_metric_data(self, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        self.data.extend((namespace, d) for d in metric_data)


class CloudWatchMetricsSink:
    """PutMetricData through a boto3 CloudWatch client, 20 data per call."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def put_metric_data(self, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        for i in range(0, len(metric_data), 20):
            self.client.put_metric_data(Namespace=namespace, MetricData=metric_data[i : i + 20])


class VariantCounters:
    """One minute of one variant's invocation metrics (bumped on the request path)."""

    __slots__ = ("e4xx", "e5xx", "invocations", "model_errors", "model_lat", "overhead_lat")

    def __init__(self) -> None:
        self.invocations = 0
        self.e4xx = 0
        self.e5xx = 0
        self.model_errors = 0
        self.model_lat = Distribution()
        self.overhead_lat = Distribution()

    def observe(self, model_us: float | None, overhead_us: float) -> None:
        """One invocation routed to the variant; model_us is None when the model was not reached."""
        self.invocations += 1
        if model_us is not None:
            self.model_lat.add(model_us)
        self.overhead_lat.add(overhead_us)

    def error(self, container_status: int | None, runtime_status: int) -> None:
        """Count an error: a model's non-2xx is a model error (and 4XX/5XX by the container's status)."""
        if container_status is not None:
            self.model_errors += 1
            if 400 <= container_status < 500:
                self.e4xx += 1
            else:
                self.e5xx += 1
        elif 400 <= runtime_status < 500:
            self.e4xx += 1
        else:
            self.e5xx += 1


@dataclass
class VariantInventory:
    """What the publisher needs to know about a live variant."""

    endpoint_name: str
    variant_name: str
    instance_count: int
    instance_pids: list[list[int]]
    model_dir: str
    counters: VariantCounters


def _stats(s: list[float]) -> dict[str, float]:
    return {"SampleCount": float(s[0]), "Sum": s[1], "Minimum": s[2], "Maximum": s[3]}


def _take(c: VariantCounters) -> VariantCounters:
    """A snapshot of `c`, which is reset in place: the request path holds a reference to the same object."""
    snapshot, fresh = VariantCounters(), VariantCounters()
    for slot in VariantCounters.__slots__:
        setattr(snapshot, slot, getattr(c, slot))
        setattr(c, slot, getattr(fresh, slot))
    return snapshot


def _boot_clock() -> float:
    """Seconds since boot: the clock of /proc/<pid>/stat starttime (monotonic would drift by suspends)."""
    return time.clock_gettime(time.CLOCK_BOOTTIME)


@dataclass
class _ProcStat:
    cpu: float  # utime + stime, seconds
    rss: float  # bytes
    started: float  # boot-clock seconds


class ProcSampler:
    """CPU and memory of process groups from /proc (Linux).

    CPU is the share of a window (from the previous collect to now) the processes ran: for a pid seen
    before, the CPU since that reading; for a pid seen for the first time (an instance's first minute,
    a restarted worker), the CPU since it started, over the part of the window it was alive (a pid
    older than the window, never sampled, contributes its average rate over the window)."""

    def __init__(self) -> None:
        self.ticks = os.sysconf("SC_CLK_TCK")
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.last: dict[int, tuple[float, _ProcStat]] = {}  # pid -> (boot clock at reading, reading)
        self.mem_total = self._mem_total()

    @staticmethod
    def _mem_total() -> float:
        try:
            with open("/proc/meminfo") as f:
                for line in f:
                    if line.startswith("MemTotal:"):
                        return float(line.split()[1]) * 1024
        except OSError:
            pass
        return 1.0

    def _read(self, pid: int) -> _ProcStat | None:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        # fields[0] is stat field 3 (state): utime 14, stime 15, starttime 22, rss 24
        cpu = (int(fields[11]) + int(fields[12])) / self.ticks
        return _ProcStat(cpu, float(int(fields[21]) * self.page), int(fields[19]) / self.ticks)

    def sample(self, pids: Iterable[int], window_start: float | None = None) -> tuple[float, float]:
        """(CPU % summed over the processes during the window, memory % of the machine).

        window_start: boot-clock time the window began (the previous collect); without it, a pid
        seen for the first time counts from its start."""
        now = _boot_clock()
        cpu_pct = 0.0
        rss = 0.0
        for pid in pids:
            got = self._read(pid)
            if got is None:
                continue
            rss += got.rss
            prev = self.last.get(pid)
            self.last[pid] = (now, got)
            if prev is not None and prev[1].started == got.started:  # same process (pids are reused)
                if now > prev[0]:
                    cpu_pct += (got.cpu - prev[1].cpu) / (now - prev[0]) * 100.0
            else:
                cpu_pct += self._first_reading(got, now, window_start)
        return cpu_pct, rss / self.mem_total * 100.0

    @staticmethod
    def _first_reading(got: _ProcStat, now: float, window_start: float | None) -> float:
        """CPU % over the window of a process read for the first time: its CPU since it started,
        counted for the part of the window it was alive (at its average rate if it is older)."""
        alive = now - got.started
        begin = got.started if window_start is None else window_start
        window = now - begin
        if alive <= 0 or window <= 0:
            return 0.0
        in_window = min(alive, window) / alive  # the share of its life that falls inside the window
        return got.cpu * in_window / window * 100.0

    def forget_except(self, pids: Iterable[int]) -> None:
        """Drop the readings of processes no longer sampled (exited workers, stopped instances)."""
        keep = set(pids)
        for pid in [p for p in self.last if p not in keep]:
            del self.last[pid]


def disk_utilization(path: str) -> float:
    try:
        st = os.statvfs(path)
    except OSError:
        return 0.0
    total = st.f_blocks * st.f_frsize
    return 0.0 if total == 0 else (total - st.f_bavail * st.f_frsize) / total * 100.0


class MetricsPublisher:
    """Swaps per-variant counters every `interval` seconds and publishes them with instance metrics."""

    def __init__(
        self, sink: MetricsSink | None, inventory: Callable[[], list[VariantInventory]], interval: float = 60.0
    ) -> None:
        self.sink = sink
        self.inventory = inventory
        self.interval = interval
        self.sampler = ProcSampler()
        self._window_start = _boot_clock()  # of the instance metrics' current window (the last collect)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            now = time.time()
            await asyncio.sleep(self.interval - (now % self.interval) if self.interval >= 60 else self.interval)
            try:
                data = self.collect()
                await loop.run_in_executor(None, self.send, data)
            except Exception:  # metrics must never stop serving
                log.exception("metrics publish failed")

    def collect(self, at: float | None = None) -> dict[str, list[dict[str, Any]]]:
        """Swap counters (on the loop thread) and build the data of the minute that just ended.

        Entries of one variant are merged into one datum per metric: while an update replaces a
        variant's instances, the old ones (draining) and the new ones both count for it."""
        t = at if at is not None else time.time() - 1.0
        stamp = datetime.fromtimestamp(t - t % 60, UTC)
        window_start, self._window_start = self._window_start, _boot_clock()
        out: dict[str, list[dict[str, Any]]] = {NS_INVOCATIONS: [], NS_INSTANCES: []}
        groups: dict[tuple[str, str], list[VariantInventory]] = {}
        for inv in self.inventory():
            groups.setdefault((inv.endpoint_name, inv.variant_name), []).append(inv)
        sampled: list[int] = []
        for (endpoint_name, variant_name), invs in groups.items():
            dims = [{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant_name}]
            out[NS_INVOCATIONS] += self._invocation_data(invs, dims, stamp)
            out[NS_INSTANCES] += self._instance_data(invs, dims, stamp, window_start)
            sampled += [pid for inv in invs for pids in inv.instance_pids for pid in pids]
        self.sampler.forget_except(sampled)
        return out

    @staticmethod
    def _invocation_data(invs: list[VariantInventory], dims: list[dict[str, str]], stamp: datetime) -> list[dict[str, Any]]:
        """AWS/SageMaker data of one variant; InvocationsPerInstance divides each entry's invocations
        by the instance count that served them."""
        taken = [(_take(inv.counters), max(1, inv.instance_count)) for inv in invs]
        invocations = sum(c.invocations for c, _ in taken)
        if not invocations:
            return []
        out = []
        for name, value in (
            ("Invocations", invocations),
            ("Invocation4XXErrors", sum(c.e4xx for c, _ in taken)),
            ("Invocation5XXErrors", sum(c.e5xx for c, _ in taken)),
            ("InvocationModelErrors", sum(c.model_errors for c, _ in taken)),
            ("InvocationsPerInstance", sum(c.invocations / n for c, n in taken)),
        ):
            out.append({"MetricName": name, "Dimensions": dims, "Timestamp": stamp, "Unit": "Count", "Value": float(value)})
        for name, slot in (("ModelLatency", "model_lat"), ("OverheadLatency", "overhead_lat")):
            latencies = Distribution()
            for c, _ in taken:
                latencies.merge(getattr(c, slot))
            base = {"MetricName": name, "Dimensions": dims, "Timestamp": stamp, "Unit": "Microseconds"}
            out += latencies.datums(base)
        return out

    def _instance_data(
        self, invs: list[VariantInventory], dims: list[dict[str, str]], stamp: datetime, window_start: float
    ) -> list[dict[str, Any]]:
        """/aws/sagemaker/Endpoints data of one variant: one CPU and memory sample per live instance."""
        cpu = [0.0, 0.0, float("inf"), 0.0]
        mem = [0.0, 0.0, float("inf"), 0.0]
        for inv in invs:
            for pids in inv.instance_pids:
                c_pct, m_pct = self.sampler.sample(pids, window_start)
                for s, v in ((cpu, c_pct), (mem, m_pct)):
                    s[0] += 1
                    s[1] += v
                    s[2] = min(s[2], v)
                    s[3] = max(s[3], v)
        if not cpu[0]:
            return []
        disk = disk_utilization(invs[0].model_dir)
        return [
            {"MetricName": name, "Dimensions": dims, "Timestamp": stamp, "Unit": "Percent", "StatisticValues": _stats(s)}
            for name, s in (("CPUUtilization", cpu), ("MemoryUtilization", mem), ("DiskUtilization", [cpu[0], disk * cpu[0], disk, disk]))
        ]

    def send(self, data: dict[str, list[dict[str, Any]]]) -> None:
        if self.sink is None:
            return
        for namespace, items in data.items():
            if items:
                self.sink.put_metric_data(namespace, items)

    async def publish(self, at: float | None = None) -> None:
        """Collect now (on the loop thread) and send (in a worker thread)."""
        data = self.collect(at)
        await asyncio.get_running_loop().run_in_executor(None, self.send, data)

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        await self.publish(at=time.time())
