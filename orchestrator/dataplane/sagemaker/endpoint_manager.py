"""Endpoints of the local data plane: bring variants up, route traffic by weight, roll updates, delete.

Driven by the control plane's observer: `await manager.apply(spec)` on CreateEndpoint/UpdateEndpoint
and `await manager.delete(name)` on DeleteEndpoint (or use `LocalSageMakerRuntime`, the thread-safe,
blocking facade). The manager holds only what executes (processes, queues, counters); the endpoint's
configuration stays in the control plane and arrives again in each spec.

Update is blue/green: the new variants' instances start and load their model while the old ones keep
serving; the routing table is then swapped in one assignment on the loop thread; the old instances
drain what they hold and stop. A variant whose model, instance count and environment did not change
keeps its running instances (only its weight moves). If a new model cannot load, the update fails,
the endpoint keeps serving the old configuration and `failure_reason` says why.

Metrics of a variant that stops serving (deleted endpoint, variant replaced by an update) are not
dropped with it: its counters stay in `inventory()` while its instances drain, and are handed to
the publisher once more after the last request ended, so the minute it went away is published whole.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.dataplane.sagemaker.capture import CaptureWriter, EndpointCapture
from orchestrator.dataplane.sagemaker.instance import ModelInstance, ModelLoadError, describe_load_failure
from orchestrator.dataplane.sagemaker.metrics import VariantCounters, VariantInventory
from orchestrator.dataplane.sagemaker.model_data import ModelDataError, S3Fetcher, resolve_model_dir
from orchestrator.dataplane.sagemaker.model_requirements import install_requirements
from orchestrator.dataplane.sagemaker.spec import EndpointSpec, EndpointState, VariantSpec

log = logging.getLogger(__name__)


class UnknownVariant(Exception):
    pass


@dataclass
class LiveVariant:
    """A variant that is serving: its instances, weight and metrics counters."""

    spec: VariantSpec
    instances: list[ModelInstance]
    model_dir: Path
    counters: VariantCounters = field(default_factory=VariantCounters)
    turn: int = 0  # round-robin start of pick_instance

    @property
    def name(self) -> str:
        return self.spec.variant_name

    def pick_instance(self) -> ModelInstance:
        """The instance with the fewest requests in hand; among equals, the next in turn (so requests
        one at a time spread over every instance, as SageMaker's load balancing does)."""
        instances = self.instances
        n = len(instances)
        if n == 1:
            return instances[0]
        self.turn = turn = (self.turn + 1) % n
        best = instances[turn]
        for instance in instances:
            if instance.load < best.load:
                best = instance
        return best


class LiveEndpoint:
    """The routing table of one endpoint; replaced whole on update."""

    def __init__(self, spec: EndpointSpec, variants: list[LiveVariant], capture: EndpointCapture | None) -> None:
        self.spec = spec
        self.name = spec.name
        self.variants = variants
        self.by_name = {v.name: v for v in variants}
        self.capture = capture
        weights = [max(0.0, v.spec.weight) for v in variants]
        total = sum(weights)
        if total <= 0:  # all weights zero: only TargetVariant reaches them; spread evenly otherwise
            weights, total = [1.0] * len(variants), float(len(variants))
        acc, cum = 0.0, []
        for w in weights:
            acc += w
            cum.append(acc)
        self._cum = cum
        self._total = total
        self._single = variants[0] if len(variants) == 1 else None

    def pick(self, target: str | None) -> LiveVariant:
        if target:
            v = self.by_name.get(target)
            if v is None:
                raise UnknownVariant(target)
            return v
        if self._single is not None:
            return self._single
        i = bisect.bisect_right(self._cum, random.random() * self._total)
        return self.variants[min(i, len(self.variants) - 1)]


class EndpointManager:
    """Applies endpoint specs: starts, swaps and stops model instances; answers routing look-ups."""

    def __init__(
        self,
        *,
        work_dir: Path | None = None,
        capture: CaptureWriter | None = None,
        fetch_s3: S3Fetcher | None = None,
        arriving: Callable[[], int] = lambda: 0,
        load_timeout: float = 300.0,
        stop_grace: float = 30.0,
        drain_timeout: float = 30.0,
    ) -> None:
        self.work_dir = Path(work_dir or tempfile.mkdtemp(prefix="sm-dataplane-"))
        self.capture = capture or CaptureWriter(None)
        self.fetch_s3 = fetch_s3
        self.arriving = arriving
        self.load_timeout = load_timeout
        self.stop_grace = stop_grace
        self.drain_timeout = drain_timeout
        self.endpoints: dict[str, LiveEndpoint] = {}
        self.states: dict[str, EndpointState] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        # variants no longer routed to: still answering (draining), then finished (reported once more)
        self._draining: list[tuple[str, LiveVariant]] = []
        self._finished: list[tuple[str, LiveVariant]] = []

    # -- observer API -----------------------------------------------------------------------------
    async def apply(self, spec: EndpointSpec) -> EndpointState:
        """Create or update an endpoint to match `spec`; returns InService or Failed (with the reason)."""
        if not spec.variants:
            state = self.states.setdefault(spec.name, EndpointState(spec.name, "Failed", spec.config_name))
            state.failure_reason = f"Endpoint configuration {spec.config_name} has no production variants."
            if spec.name not in self.endpoints:
                state.status = "Failed"
            return self._snapshot(state)
        lock = self._locks.setdefault(spec.name, asyncio.Lock())
        async with lock:
            current = self.endpoints.get(spec.name)
            known = self.states.get(spec.name)
            if known is None or current is None:
                state = self.states[spec.name] = EndpointState(spec.name, "Creating", spec.config_name)
            else:
                state = known
                state.status = "Updating"
            reusable = {v.name: v for v in current.variants} if current else {}
            new_variants: list[LiveVariant] = []
            started: list[LiveVariant] = []
            surplus: list[LiveVariant] = []  # instances a scale-in removes: drained after the switch
            attempting = spec.variants[0]
            try:
                for vspec in spec.variants:
                    attempting = vspec
                    old = reusable.get(vspec.variant_name)
                    same_model = old is not None and old.spec.model.key() == vspec.model.key()
                    if old is not None and same_model and not spec.in_place and len(old.instances) == max(1, vspec.instance_count):
                        # UpdateEndpoint leaving a variant as it was (a weight at most): it keeps serving.
                        new_variants.append(LiveVariant(vspec, old.instances, old.model_dir, old.counters))
                        continue
                    if old is not None and same_model and spec.in_place:
                        # UpdateEndpointWeightsAndCapacities: the instances keep serving; only the count
                        # (scaling: start or drain the difference) and the weight change, as on AWS.
                        keep = old.instances[: max(1, vspec.instance_count)]
                        extra: list[ModelInstance] = []
                        if vspec.instance_count > len(keep):
                            added = await self._start_instances(vspec, old.model_dir, vspec.instance_count - len(keep))
                            started.append(added)
                            extra = added.instances
                        if len(old.instances) > len(keep):
                            surplus.append(LiveVariant(old.spec, old.instances[len(keep) :], old.model_dir))
                        new_variants.append(LiveVariant(vspec, keep + extra, old.model_dir, old.counters))
                        continue
                    live = await self._start_variant(vspec)
                    started.append(live)
                    new_variants.append(live)
            except (ModelLoadError, ModelDataError) as exc:
                for live in started:
                    await self._stop_instances(live.instances)
                reason = describe_load_failure(attempting.model.name, attempting.variant_name, exc)
                log.error("endpoint %s: %s", spec.name, reason)
                if current is not None:  # failed update: keep serving the previous configuration
                    state.status = "InService"
                else:
                    state.status = "Failed"
                state.failure_reason = reason
                return self._snapshot(state)
            capture = self.capture.configure(spec.name, spec.data_capture)
            if capture is None:
                self.capture.remove(spec.name)
            self.endpoints[spec.name] = LiveEndpoint(spec, new_variants, capture)  # the switch
            state.status, state.config_name, state.failure_reason = "InService", spec.config_name, None
            if current is not None:
                kept = {id(i) for v in new_variants for i in v.instances}
                gone = [v for v in current.variants if not any(id(i) in kept for i in v.instances)]
                await self._retire(spec.name, gone + surplus)
            return self._snapshot(state)

    async def delete(self, name: str) -> None:
        """Stop serving an endpoint and every process it ran."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        async with lock:
            live = self.endpoints.pop(name, None)
            self.states.pop(name, None)
            self.capture.remove(name)
            if live is not None:
                await self._retire(name, live.variants)

    async def close(self) -> None:
        for name in list(self.endpoints):
            await self.delete(name)

    def describe(self, name: str) -> EndpointState | None:
        state = self.states.get(name)
        return self._snapshot(state) if state else None

    def status_document(self) -> dict[str, dict[str, object]]:
        """Every endpoint as JSON-able data: status, variants, instances, worker pids, health.

        For ``orchestrator local status`` and tests (which worker to kill, which processes must go).
        """
        out: dict[str, dict[str, object]] = {}
        for name, state in self.states.items():
            live = self.endpoints.get(name)
            variants = []
            for v in live.variants if live else []:
                instances = [
                    {"pids": i.pids(), "workers": i.workers_count, "healthy_workers": i.healthy_workers,
                     "restarts": i.restarts, "queued": len(i.queue), "batch_size": i.batch_size,
                     "container_url": i.container_url}
                    for i in v.instances
                ]
                variants.append({
                    "name": v.name, "model": v.spec.model.name, "weight": v.spec.weight, "instances": instances,
                    "healthy": all(i["healthy_workers"] == i["workers"] for i in instances),
                })
            out[name] = {"status": state.status, "config_name": state.config_name,
                         "failure_reason": state.failure_reason, "variants": variants}
        return out

    # -- helpers ----------------------------------------------------------------------------------
    def _snapshot(self, state: EndpointState) -> EndpointState:
        live = self.endpoints.get(state.name)
        variants = {v.name: sum(i.healthy_workers for i in v.instances) for v in live.variants} if live else {}
        return EndpointState(state.name, state.status, state.config_name, state.failure_reason, variants)

    async def _start_variant(self, vspec: VariantSpec) -> LiveVariant:
        loop = asyncio.get_running_loop()
        model_dir = await loop.run_in_executor(
            None, resolve_model_dir, vspec.model.model_data, self.work_dir / "models", self.fetch_s3
        )
        return await self._start_instances(vspec, model_dir, max(1, vspec.instance_count))

    async def _start_instances(self, vspec: VariantSpec, model_dir: Path, count: int) -> LiveVariant:
        """``count`` new instances of the variant's model, started and healthy (all or none)."""
        requirements_dir = await asyncio.get_running_loop().run_in_executor(
            None, install_requirements, model_dir, self.work_dir / "requirements"
        )
        instances = [
            ModelInstance(
                model_name=vspec.model.name,
                model_dir=model_dir,
                env=vspec.model.env,
                arriving=self.arriving,
                load_timeout=self.load_timeout,
                stop_grace=self.stop_grace,
                requirements_dir=requirements_dir,
            )
            for _ in range(count)
        ]
        results = await asyncio.gather(*(i.start() for i in instances), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            await self._stop_instances([i for i, r in zip(instances, results) if r is None])
            raise errors[0]
        return LiveVariant(vspec, instances, model_dir)

    async def _stop_instances(self, instances: list[ModelInstance]) -> None:
        await asyncio.gather(*(i.stop(self.drain_timeout) for i in instances), return_exceptions=True)

    async def _retire(self, endpoint_name: str, variants: list[LiveVariant]) -> None:
        """Stop variants that no longer receive traffic, keeping their counters until the end.

        Instance stop returns once every request it held has been answered (or failed): after it,
        nothing can bump these counters, so they are handed to the publisher one last time."""
        if not variants:
            return
        entries = [(endpoint_name, v) for v in variants]
        self._draining.extend(entries)
        try:
            await self._stop_instances([i for v in variants for i in v.instances])
        finally:
            self._draining = [e for e in self._draining if not any(e is x for x in entries)]
            self._finished.extend(entries)

    def inventory(self) -> list[VariantInventory]:
        """Variants whose counters the publisher reads now: serving, draining, and those finished since
        the last call (returned this once: their counters can no longer change)."""
        finished, self._finished = self._finished, []
        out = [self._inventory(ep.name, v) for ep in self.endpoints.values() for v in ep.variants]
        out += [self._inventory(name, v) for name, v in self._draining]
        out += [self._inventory(name, v, alive=False) for name, v in finished]
        return out

    @staticmethod
    def _inventory(endpoint_name: str, v: LiveVariant, alive: bool = True) -> VariantInventory:
        pids = [i.pids() for i in v.instances] if alive else []
        return VariantInventory(endpoint_name, v.name, len(v.instances), pids, str(v.model_dir), v.counters)
