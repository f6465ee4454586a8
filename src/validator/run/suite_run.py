"""One run of a suite, from preflight to reports.

    preflight (context allowed, RBAC, Prometheus and the load target reachable)
    -> manifest.json -> recorder (evidence/k8s.jsonl) -> settle -> Locust in a subprocess (load/)
    -> experiments on their schedule, in the main thread, rollbacks always (chaos/)
    -> load ends -> cooldown -> recorder stops -> Prometheus range queries (evidence/metrics.json)
    -> evaluation -> summary.json, junit.xml, report.html

Everything lands in the run directory as it arrives. Ctrl-C or SIGTERM at any point stops the load,
lets the running experiment's rollbacks finish (Chaos Toolkit's `always` strategy plus our control),
then still writes the evidence and the reports, and the run exits 130. A failed rollback stops the
remaining experiments and the run exits 5 (after the reports). Otherwise the exit code is the
verdict's (`exit_code` below; docs/criteria.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from validator.collect.prometheus import collect_metrics
from validator.collect.recorder import KubernetesRecorder
from validator.config.suite_file import MAX_LOAD_DURATION_S, ExperimentSpec
from validator.criteria import fault_effects
from validator.criteria.promql import QueryRanges
from validator.criteria.registry import CRITERIA, LIVE_CRITERIA, build_specs, evaluate_all
from validator.errors import ExitCode, RollbackFailed
from validator.export import export_results
from validator.history import default_history_path, judge_against_history, record_run, regression_lines
from validator.history.evidence import history_evidence
from validator.load.locust_process import LocustSpec
from validator.load.shape_hold import HOLD_FILE, HeldSpan, ShapeHold
from validator.model import (
    Evidence,
    ExperimentRecord,
    LabelSelector,
    ManifestLoad,
    PlannedFault,
    RunManifest,
    Summary,
    TimeWindow,
    Verdict,
)
from validator.report.console_table import COLOUR, overall_verdict_line, print_verdicts
from validator.report.publish import evaluate_and_report, exit_code_for
from validator.resources import load_profile_path, platform_revision
from validator.run.abort import AbortWatch
from validator.run.experiments import (
    ExperimentInterrupted,
    experiment_fault_name,
    held_experiment,
    plan_suite,
    run_one,
)
from validator.run.interrupts import Interrupts
from validator.run.load_progress import ProgressLocust
from validator.run.notify import notify
from validator.run.preflight import (
    about_live_pods,
    preflight,
    wait_for_expected_alerts_to_clear,
    wait_for_quiet_platform,
)
from validator.run.rehearsal import rehearse
from validator.run.request import RunEnvironment, RunRequest, resolve_environment
from validator.run_directory import K8S, load_run_directory
from validator.run_directory.layout import LOAD_DIR, REPORT
from validator.run_directory.manifest import write_manifest
from validator.safety.guard import Guard


def exit_code(summary: Summary, *, interrupted: bool, rollback_failure: RollbackFailed | None) -> int:
    """Where a run decides its exit code: 130 when interrupted (its reports are still written), a
    failed rollback raised as exit 5, otherwise the verdict's (0 pass, 1 fail, 3 inconclusive)."""
    if interrupted:
        return int(ExitCode.INTERRUPTED)
    if rollback_failure is not None:
        raise rollback_failure
    return exit_code_for(summary.verdict)


def _sleep_until(deadline: float, *, tick: Callable[[], None] | None = None) -> None:
    """Sleep in short steps (so Ctrl-C lands promptly), calling `tick` about every 5 s."""
    last = 0.0
    while True:
        remaining = deadline - time.time()
        if remaining <= 0:
            return
        if tick is not None and time.time() - last >= 5.0:
            last = time.time()
            tick()
        time.sleep(min(0.5, remaining))


def _now_ms() -> int:
    return int(time.time() * 1000)


# The load's end is held a little before it comes: Locust asks the profile every second, and one that
# has reached its end stops the users.
HOLD_LEAD_S = 3.0
LOAD_END = "the load's end"


class SuiteRun:
    """One run of one suite. `execute()` returns the exit code."""

    def __init__(self, request: RunRequest, console: Console | None = None) -> None:
        self.request = request
        self.suite = request.suite
        self.console = console or Console(stderr=False)
        self.interrupts = Interrupts(self.console)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.run_id = f"{stamp}-{self.suite.name}"
        self.run_dir = request.output or (Path("reports") / self.run_id)
        if request.output is not None:
            self.run_id = request.output.resolve().name
        self.experiment_results: list[ExperimentRecord] = []
        self.rollback_failure: RollbackFailed | None = None
        self.load_process: ProgressLocust | None = None
        self.abort_watch: AbortWatch | None = None
        self.aborted = ""  # why the run stopped itself (abort_on), once it did
        self.window_start_ms = 0
        self.window_end_ms = 0
        self.load_started_ms = 0
        self.shape_hold = ShapeHold(self.run_dir / LOAD_DIR / HOLD_FILE, 0.0)  # sized in _run

    # -- the manifest --------------------------------------------------------------------------
    def _manifest(self, env: RunEnvironment, *, final: bool, end_ms: int | None = None) -> RunManifest:
        timing = self.suite.timing(env.mode)
        expected: dict[str, tuple[str, ...]] = {}
        for exp in self.suite.experiments:
            if exp.expected_alerts:
                expected[exp.name] = tuple(exp.expected_alerts)
                fault = experiment_fault_name(exp.path)
                if fault and fault != exp.name:
                    expected.setdefault(fault, tuple(exp.expected_alerts))
        if end_ms is None:
            end_ms = (
                self.window_end_ms
                if final
                else self.window_start_ms
                + int((timing.settle_s + timing.load_duration_s + timing.cooldown_s) * 1000)
                + int(self.shape_hold.held_s() * 1000)  # the load lasts longer by its holds
            )
        target = self.request.rehearsal_target
        return RunManifest(
            run_id=self.run_id,
            suite=self.suite.name,
            suite_file=self.suite.source,
            window=TimeWindow(
                start=self.window_start_ms / 1000, end=max(end_ms, self.window_start_ms) / 1000
            ),
            window_final=final,
            context=self.request.context,
            namespaces=tuple(self.suite.namespaces),
            sandbox=env.mode == "sandbox",
            timing=env.mode,
            dry_run=self.request.dry_run,
            agent_label=self.suite.agent_label,
            controller_selector=LabelSelector.parse(self.suite.controller_selector),
            time_factor=timing.time_factor,
            load=ManifestLoad(
                profile=self.suite.load.profile,
                target=self.suite.load.target,
                max_users=self.suite.load.max_users,
                max_spawn_rate=self.suite.load.max_spawn_rate,
                duration_s=timing.load_duration_s,
                started=self.load_started_ms / 1000 if self.load_started_ms else None,
                held_s=self.shape_hold.held_s(),
            ),
            faults_planned=tuple(
                PlannedFault(name=e.name, experiment=str(e.path), offset_s=off)
                for off, e in self.suite.schedule(env.mode)
            ),
            rehearsal_target=target.scope() if target is not None else None,
            expected_alerts=expected,
            criteria=dict(self.suite.criteria),
            judge=tuple(self.suite.judge) or tuple(sorted(CRITERIA)),
            experiments=tuple(self.experiment_results),
            interrupted=tuple(self.interrupts.received),
            aborted=self.aborted,
        )

    def _record_history(
        self, summary: Summary, manifest: RunManifest, env: RunEnvironment, evidence: Evidence | None = None
    ) -> None:
        """Into the history (--history, default beside the reports); a failure to record never costs
        the run its verdict, and is said."""
        try:
            path = record_run(
                self.request.history, summary, manifest, self.run_dir, kind="run",
                platform_revision=_history_revision(env), evidence=evidence,
            )
        except Exception as exc:  # the verdict stands without its history
            self.console.print(f"[yellow]history not recorded: {type(exc).__name__}: {exc}[/]")
            return
        self.console.print(f"history: {path}")

    def _with_history(self, evidence: Evidence) -> Evidence:
        """The earlier runs of the suite from the history the run is recorded into (the criteria that
        judge a run against its past read them); unreadable, the run is judged without and says so."""
        path = self.request.history or default_history_path(self.run_dir)
        try:
            return replace(evidence, history=history_evidence(path, evidence.manifest))
        except Exception as exc:  # the run is still worth judging
            self.console.print(f"[yellow]history not read: {type(exc).__name__}: {exc}[/]")
            return evidence

    def _write_manifest(self, env: RunEnvironment, *, final: bool = False, end_ms: int | None = None) -> None:
        write_manifest(self.run_dir, self._manifest(env, final=final, end_ms=end_ms))

    # -- load ----------------------------------------------------------------------------------
    def _locust_spec(self, env: RunEnvironment) -> LocustSpec:
        timing = self.suite.timing(env.mode)
        load = self.suite.load
        extra = {"VALIDATOR_LOAD_TARGET": load.target, **load.env}
        max_hold = self._max_hold_s(env)
        return LocustSpec(
            locustfile=load_profile_path(load.profile, self.suite.source),
            host=env.workflow_api_url or "http://127.0.0.1",
            max_users=load.max_users,
            max_spawn_rate=load.max_spawn_rate,
            max_duration_s=timing.load_duration_s + max_hold + 30.0,
            time_factor=timing.time_factor,
            profile_duration_s=timing.load_duration_s,
            allowed_hosts=load.allowed_hosts,
            extra_env=extra,
            hold_file=self.shape_hold.path if max_hold > 0 else None,
            max_hold_s=max_hold,
        )

    def _max_hold_s(self, env: RunEnvironment) -> float:
        """The most the schedule may hold the load's profile: as long again as the load, within the
        load profiles' hard maximum on a run's length."""
        if not self.suite.experiments:
            return 0.0
        duration = self.suite.timing(env.mode).load_duration_s
        return max(0.0, min(duration, MAX_LOAD_DURATION_S - duration - 30.0))

    def _progress_line(self) -> Callable[[], None]:
        def tick() -> None:
            elapsed = (time.time() * 1000 - self.load_started_ms) / 1000 if self.load_started_ms else 0.0
            last = self.load_process.last_progress() if self.load_process is not None else None
            load = (
                (
                    f"{last.user_count} users, {last.requests_per_s:.1f} req/s, {last.total_requests} sent, "
                    f"{last.total_failures} failed"
                )
                if last is not None
                else "starting"
            )
            self.console.print(f"[dim][{elapsed:6.0f}s][/] load: {load}")

        return tick

    # -- experiments ---------------------------------------------------------------------------
    def _run_experiment(self, exp: ExperimentSpec, env: RunEnvironment) -> None:
        timing = self.suite.timing(env.mode)
        try:
            record, failure = run_one(
                exp,
                held_experiment(exp, env.mode, self.run_dir),
                context=self.request.context,
                run_dir=self.run_dir,
                run_id=self.run_id,
                kubeconfig=env.kubeconfig,
                allowlist=self.request.allowlist,
                extra_env={**timing.env, **exp.env, **self.request.extra_env},
                console=self.console,
                load_started_ms=self.load_started_ms,
            )
        except ExperimentInterrupted as interrupted:
            self.experiment_results.append(interrupted.record)
            raise
        self.experiment_results.append(record)
        if failure is not None:
            self.rollback_failure = failure

    def _live_verdicts(self, env: RunEnvironment) -> Summary | None:
        """Judge the criteria that need no Prometheus from the evidence so far (never fails the run)."""
        try:
            self._write_manifest(env, end_ms=_now_ms())
            evidence = load_run_directory(self.run_dir)
            only = [c for c in LIVE_CRITERIA if not self.suite.judge or c in self.suite.judge]
            summary = evaluate_all(build_specs(self.suite.criteria), evidence, only=only)
        except Exception as exc:  # a live view must never cost the run
            self.console.print(f"[dim]live verdicts unavailable: {type(exc).__name__}: {exc}[/]")
            return None
        parts = [f"{o.id} [{COLOUR[o.verdict]}]{o.verdict.value}[/]" for o in summary.criteria]
        self.console.print("  live: " + ", ".join(parts))
        return summary

    def _aborting(self, env: RunEnvironment, live: Summary | None = None) -> bool:
        """Whether the suite's abort_on rules are met now (said once, and recorded in the manifest)."""
        if self.abort_watch is None:
            return False
        if live is None and self.abort_watch.rules.criteria:
            live = self._live_verdicts(env)
        reason = self.abort_watch.check(live)
        if reason and not self.aborted:
            self.aborted = reason
            self.console.print(f"[red]abort: {reason}: the remaining experiments are skipped[/]")
            self._write_manifest(env, end_ms=_now_ms())
        return bool(reason)

    # -- the whole run -------------------------------------------------------------------------
    def execute(self) -> int:
        env = resolve_environment(self.request)
        self.console.print(
            f"[bold]validator run {self.suite.name}[/] on {self.request.context} ({env.mode} timings)"
        )
        guard = preflight(self.request, env, self.console)
        try:
            if self.request.rehearsal_target is not None:
                decided = rehearse(
                    guard,
                    self.request.rehearsal_target,
                    dry_run=self.request.dry_run,
                    run_dir=self.run_dir,
                    console=self.console,
                )
                if decided is not None:
                    return decided
            elif self.request.dry_run:
                return self._plan_only(guard, env)
            self.interrupts.install()
            try:
                return self._run(env, guard)
            finally:
                self.interrupts.restore()
        finally:
            guard.api.close()

    def _plan_only(self, guard: Guard, env: RunEnvironment) -> int:
        refused = plan_suite(self.suite, env.mode, guard, dict(self.request.extra_env), self.console)
        return int(ExitCode.REFUSED if refused else ExitCode.PASS)

    def _run(self, env: RunEnvironment, guard: Guard) -> int:
        timing = self.suite.timing(env.mode)
        if env.mode == "sandbox" and env.workflow_api_url:
            wait_for_quiet_platform(env.workflow_api_url, self.console)
        if not self.suite.judge or "alert_accuracy" in self.suite.judge:
            wait_for_expected_alerts_to_clear(
                env.prometheus_url,
                (name for names in self.suite.expected_alerts().values() for name in names),
                self.console,
                timing.quiet_s,
                about_live_pods(guard.api, self.suite.namespaces),
            )
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.console.print(f"run directory: {self.run_dir}")
        self.window_start_ms = _now_ms()
        self._write_manifest(env)
        recorder = KubernetesRecorder.from_kubeconfig(
            self.run_dir / K8S,
            kubeconfig=env.kubeconfig or "",
            context=self.request.context,
            namespaces=list(self.suite.record_namespaces),
        )
        interrupted = False
        recorder_started = False
        try:
            recorder.start()
            recorder_started = True
            recorder.wait_until_synced(60)
            self.window_start_ms = int(recorder.synced_ms or _now_ms())
            self._write_manifest(env)
            self.console.print(f"[green]✓[/] recorder synced; settling {timing.settle_s:g}s for a baseline")
            _sleep_until(time.time() + timing.settle_s)
            self.shape_hold = ShapeHold(self.run_dir / LOAD_DIR / HOLD_FILE, self._max_hold_s(env))
            self.load_process = load = ProgressLocust(self._locust_spec(env), self.run_dir)
            load.start()
            self.load_started_ms = load.started_ms
            self._write_manifest(env)
            self.console.print(
                f"[green]✓[/] load: {self.suite.load.profile} profile, up to "
                f"{self.suite.load.max_users} users for {timing.load_duration_s:g}s"
            )
            tick = self._progress_line()
            if self.suite.abort_on is not None:
                self.abort_watch = AbortWatch(
                    self.suite.abort_on,
                    env.prometheus_url,
                    load.last_progress,
                    lambda text: self.console.print(f"[yellow]{text}[/]"),
                )
            schedule = self.suite.schedule(env.mode)
            for index, (offset, exp) in enumerate(schedule):
                _sleep_until(self._on_load_clock(offset), tick=tick)
                if self._aborting(env):
                    break
                if not load.running():
                    load.finish()
                    self.console.print(
                        f"[yellow]the load ended before {exp.name} ({load.describe()}): "
                        "this fault meets no load[/]"
                    )
                # the next fault's point of the load (or the load's end, a tick before it) is held
                # while this experiment runs past it
                last_hold_point = timing.load_duration_s - HOLD_LEAD_S
                upto, upto_name = (
                    (min(schedule[index + 1][0], last_hold_point), schedule[index + 1][1].name)
                    if index + 1 < len(schedule)
                    else (last_hold_point, LOAD_END)
                )
                with self.shape_hold.from_moment(self._on_load_clock(upto)) as held:
                    self._run_experiment(exp, env)
                self._say_held(exp.name, upto_name, held)
                live = self._live_verdicts(env)
                if self.rollback_failure is not None:
                    self.console.print("[red]a rollback failed: the remaining experiments are skipped[/]")
                    break
                if self._aborting(env, live):
                    break
            if not self.aborted:
                _sleep_until(self._on_load_clock(timing.load_duration_s), tick=tick)
            with self.interrupts.shield():
                load.finish(wait_s=0.0 if self.aborted else 30.0)  # an aborted run stops its load now
            self.console.print(f"load finished: {load.describe()}; cooldown {timing.cooldown_s:g}s")
            _sleep_until(time.time() + timing.cooldown_s, tick=self._recovery_tick())
        except KeyboardInterrupt as exc:
            interrupted = True
            if not self.interrupts.received:  # the chaos control's own handler took the signal
                self.interrupts.received.append(str(exc) or "KeyboardInterrupt")
        finally:
            with self.interrupts.shield():
                if self.load_process is not None:
                    self.load_process.finish()
                if recorder_started:
                    recorder.stop()
        with self.interrupts.shield():
            return self._finish(env, interrupted=interrupted or self.interrupts.interrupted)

    def _on_load_clock(self, offset_s: float) -> float:
        """The wall-clock time (epoch seconds) the load's profile reaches `offset_s`, holds included."""
        return self.load_started_ms / 1000 + offset_s + self.shape_hold.held_s()

    def _say_held(self, name: str, upto: str, held: HeldSpan) -> None:
        if held.seconds <= 0:
            return
        past, after = (
            (LOAD_END, "the load still runs to its end after it")
            if upto == LOAD_END
            else (f"{upto}'s start", f"{upto} still meets the load planned for it")
        )
        self.console.print(
            f"[yellow]{name} ran {held.seconds:.0f}s past {past}: "
            f"the load held its profile for those {held.seconds:.0f}s, so {after} "
            f"(the load lasts {self.shape_hold.held_s():.0f}s longer in all)[/]"
        )
        if held.reached_max:
            self.console.print(
                "[yellow]the load's profile was held the most a run allows "
                f"({self.shape_hold.max_hold_s:.0f}s): "
                "it goes on now, and a fault that overruns again meets a later point of the load[/]"
            )

    def _recovery_tick(self) -> Callable[[], None]:
        def tick() -> None:
            self.console.print("[dim]cooldown: watching recovery[/]")

        return tick

    def _finish(self, env: RunEnvironment, *, interrupted: bool) -> int:
        timing = self.suite.timing(env.mode)
        self.window_end_ms = _now_ms()
        self._write_manifest(env, final=True)
        specs = build_specs(self.suite.criteria)
        only = list(self.suite.judge) or None
        queries: dict[str, str] = dict(fault_effects.QUERIES)  # to see that each fault took effect
        for cid in only or list(CRITERIA):
            queries.update(specs[cid].queries)
        self.console.print(f"collecting {len(queries)} Prometheus queries over the window")
        try:
            collect_metrics(
                self.run_dir,
                env.prometheus_url,
                queries,
                datetime.fromtimestamp(self.window_start_ms / 1000, UTC),
                datetime.fromtimestamp(self.window_end_ms / 1000, UTC),
                step_seconds=timing.step_s,
                ranges=QueryRanges.for_run(timing.time_factor, timing.step_s),
                agent_label_key=self.suite.agent_label,
                namespaces=self.suite.namespaces,
                record_unreachable=True,
                show_progress=False,
            )
        except Exception as exc:  # the other evidence is still worth judging
            self.console.print(f"[yellow]metrics not collected: {exc}[/]")
        aborted = self.aborted
        evidence = self._with_history(load_run_directory(self.run_dir))
        rules = self.suite.regressions
        policy = self.request.regressions or rules.policy

        def revise(judged: Summary) -> Summary:
            if aborted:
                judged = replace(judged, verdict=Verdict.FAIL, aborted=aborted)
            return judge_against_history(
                self.request.history, judged, evidence.manifest, self.run_dir, policy=policy,
                tolerance=rules.tolerance,
            )

        summary = evaluate_and_report(
            self.run_dir,
            specs,
            evidence,
            only=only,
            not_evaluated_reason=f"not judged by the {self.suite.name} suite (its `judge` list)",
            revise=revise,
        )
        print_verdicts(self.console, summary, f"validator run {summary.run_id}")
        for line in regression_lines(summary.regressions):
            self.console.print(line, markup=False, highlight=False)
        self.console.print(overall_verdict_line(summary))
        self.console.print(f"report: {self.run_dir / REPORT}")
        report = self.run_dir / REPORT
        self._record_history(summary, evidence.manifest, env, evidence)
        export_results(self.request.export, summary, evidence, self.console, kind="run")
        delivered = notify(summary, suite=self.suite.name, context=self.request.context, report=report)
        if delivered:
            self.console.print(delivered)
        if interrupted:
            self.console.print(
                f"[yellow]interrupted: rollbacks ran, evidence and reports are in {self.run_dir}[/]"
            )
        return exit_code(summary, interrupted=interrupted, rollback_failure=self.rollback_failure)


def _history_revision(env: RunEnvironment) -> str:
    """The platform revision a run ran against: the bundled platform's, on the sandbox that deploys it."""
    return platform_revision() if env.sandbox else ""


def run_suite(request: RunRequest, console: Console | None = None) -> int:
    """Run a suite end to end; the exit code of docs/criteria.md."""
    return SuiteRun(request, console or Console()).execute()

