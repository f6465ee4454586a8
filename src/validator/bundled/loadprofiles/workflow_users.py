"""What every load profile shares: its Locust arguments and caps, the shape driver, and the users.

Imports Locust, so import this module only from a locustfile, never from the validator process
(`import locust` monkey-patches the standard library; docs/libraries.md).

Targets, chosen with env VALIDATOR_LOAD_TARGET:
- `http` (default): POST a workflow to `--host` + `--submit-path` (default /workflows), the body
  from the workflow mix or from `--payload-template FILE` (JSON with `{{size}}`, `{{stages}}`,
  `{{workflow_name}}`, `{{submitted_at_ms}}`, `{{payload}}` placeholders). 202/201/200 is a success;
  anything else (429 or 503 when the queue is full) a failure. With `--await-result PATH` (e.g.
  `/workflows/{id}`) a user is a closed loop, as a developer who reviews each result: after a
  submission it polls PATH (the `id` of the submission's JSON answer filled in) until the workflow
  is `completed` (a success of `workflow result`) or `failed` (a failure), then thinks, then submits
  again. Without it users submit open-loop, whatever is still in flight.
- `kubernetes`: create one object per workflow from the template in VALIDATOR_LOAD_K8S_TEMPLATE
  (JSON or YAML) in VALIDATOR_LOAD_K8S_NAMESPACE, through KUBECONFIG's context
  VALIDATOR_LOAD_K8S_CONTEXT (allow-listed), reported through Locust's request events.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

from load_caps import (
    ENV_ALLOWED_CONTEXTS,
    ENV_ALLOWED_HOSTS,
    ENV_MAX_DURATION,
    ENV_MAX_SPAWN_RATE,
    ENV_MAX_USERS,
    ENV_PROFILE_DURATION,
    ENV_THINK_TIME,
    ENV_TIME_FACTOR,
    LoadCaps,
    LoadRefused,
    check_context,
    check_host,
    check_requested,
    parse_caps,
    parse_think_time,
    shape_duration,
    split_list,
)
from locust import FastHttpUser, LoadTestShape, User, events, task
from locust.env import Environment
from shape_curves import PROFILES, Profile, Tick, seconds_held, users_at
from workflow_mix import choose_size, plan_workflow, render_template, template_values, think_time

log = logging.getLogger("validator.loadprofiles")

ENV_TARGET = "VALIDATOR_LOAD_TARGET"
ENV_K8S_TEMPLATE = "VALIDATOR_LOAD_K8S_TEMPLATE"
ENV_K8S_NAMESPACE = "VALIDATOR_LOAD_K8S_NAMESPACE"
ENV_K8S_CONTEXT = "VALIDATOR_LOAD_K8S_CONTEXT"
REFUSED_EXIT_CODE = 4  # criteria.md: refused for safety before anything was sent


@events.init_command_line_parser.add_listener  # type: ignore[untyped-decorator]
def _add_arguments(parser: Any, **_: Any) -> None:
    parser.add_argument("--max-users", type=str, default="", env_var=ENV_MAX_USERS,
                        help="REQUIRED cap on concurrent users (hard maximum 500)")
    parser.add_argument("--max-spawn-rate", type=str, default="", env_var=ENV_MAX_SPAWN_RATE,
                        help="REQUIRED cap on users started per second (hard maximum 50)")
    parser.add_argument("--max-duration", type=str, default="", env_var=ENV_MAX_DURATION,
                        help="REQUIRED cap on the run's wall-clock seconds (hard maximum 259200)")
    parser.add_argument("--time-factor", type=str, default="1", env_var=ENV_TIME_FACTOR,
                        help="compressed time: divides the profile length, stage durations and think times")
    parser.add_argument("--profile-duration", type=str, default="", env_var=ENV_PROFILE_DURATION,
                        help="wall-clock seconds of the shape (overrides the profile's length / time factor)")
    parser.add_argument("--allowed-hosts", type=str, default="", env_var=ENV_ALLOWED_HOSTS,
                        help="comma-separated hosts allowed besides 127.0.0.1, localhost, ::1")
    parser.add_argument("--submit-path", type=str, default="/workflows", env_var="VALIDATOR_LOAD_SUBMIT_PATH",
                        help="path of the workflow submission API")
    parser.add_argument("--payload-template", type=str, default="", env_var="VALIDATOR_LOAD_PAYLOAD_TEMPLATE",
                        help="JSON file: the submission body, with {{size}}, {{stages}}, ... placeholders")
    parser.add_argument("--think-time", type=str, default="", env_var=ENV_THINK_TIME,
                        help="fixed seconds between a user's submissions (default: the mix's think times)")
    parser.add_argument("--await-result", type=str, default="", env_var="VALIDATOR_LOAD_AWAIT_RESULT",
                        help="status path with {id} (e.g. /workflows/{id}): wait for each workflow's "
                             "result before thinking and submitting again (closed loop)")
    parser.add_argument("--mix-seed", type=str, default="", env_var="VALIDATOR_LOAD_MIX_SEED",
                        help="seed of the workflow mix (reproducible runs)")
    parser.add_argument("--hold-file", type=str, default="", env_var="VALIDATOR_LOAD_HOLD_FILE",
                        help="JSON file a suite run writes while a fault overruns its slot: the shape's "
                             "clock stands still for as long as it says (shape_curves.seconds_held)")
    parser.add_argument("--max-hold", type=str, default="0", env_var="VALIDATOR_LOAD_MAX_HOLD",
                        help="the most seconds the hold file may hold the shape (the run's --max-duration "
                             "must leave room for them)")


def caps_of(environment: Environment) -> LoadCaps:
    """The caps of this run, parsed once and kept on the environment."""
    cached = getattr(environment, "validator_caps", None)
    if isinstance(cached, LoadCaps):
        return cached
    opts = environment.parsed_options
    caps = parse_caps(max_users=getattr(opts, "max_users", None),
                      max_spawn_rate=getattr(opts, "max_spawn_rate", None),
                      max_duration=getattr(opts, "max_duration", None),
                      time_factor=getattr(opts, "time_factor", None),
                      profile_duration=getattr(opts, "profile_duration", None))
    environment.validator_caps = caps  # type: ignore[attr-defined]
    return caps


def _run_time_s(raw: object) -> float | None:
    if raw in (None, "", 0):
        return None
    if isinstance(raw, int | float):
        return float(raw)
    from locust.util.timespan import parse_timespan

    return float(parse_timespan(str(raw)))


def _check_target(environment: Environment) -> None:
    opts = environment.parsed_options
    target = os.environ.get(ENV_TARGET, "http").strip() or "http"
    if target == "http":
        extra = split_list(getattr(opts, "allowed_hosts", ""))
        check_host(environment.host or getattr(opts, "host", None), extra)
        for user_class in environment.user_classes:
            if getattr(user_class, "host", None):
                check_host(user_class.host, extra)
    elif target == "kubernetes":
        check_context(os.environ.get(ENV_K8S_CONTEXT), split_list(os.environ.get(ENV_ALLOWED_CONTEXTS)))
        for env_name in (ENV_K8S_TEMPLATE, ENV_K8S_NAMESPACE):
            if not os.environ.get(env_name):
                raise LoadRefused(f"{env_name} is not set", where=f"env {env_name}",
                                  fix="set it: the object template file / the namespace to create objects in")
    else:
        raise LoadRefused(f"unknown load target {target!r}", where=f"env {ENV_TARGET}",
                          fix="use http or kubernetes")


@events.init.add_listener  # type: ignore[untyped-decorator]
def _refuse_unsafe_runs(environment: Environment, **_: Any) -> None:
    """Refuse before any user starts: caps missing or too high, target not allowed."""
    opts = environment.parsed_options
    if opts is None:  # used as a library (tests building an Environment themselves)
        return
    try:
        caps = caps_of(environment)
        parse_think_time(getattr(opts, "think_time", None))
        check_requested(caps, users=getattr(opts, "num_users", None),
                        spawn_rate=getattr(opts, "spawn_rate", None),
                        run_time_s=_run_time_s(getattr(opts, "run_time", None)))
        shape = environment.shape_class
        if isinstance(shape, ProfileShape):
            shape.duration_s(environment)  # refuses a shape longer than --max-duration
        _check_target(environment)
    except LoadRefused as refused:
        sys.stderr.write(f"validator load profile refused to start: {refused}\n")
        sys.stderr.flush()
        sys.exit(REFUSED_EXIT_CODE)


class ProfileShape(LoadTestShape):
    """Drives users along a profile's curve (shape_curves.PROFILES), scaled to --max-users."""

    abstract: ClassVar[bool] = True
    profile_name: ClassVar[str] = ""

    def profile(self) -> Profile:
        return PROFILES[self.profile_name]

    def duration_s(self, environment: Environment) -> float:
        return shape_duration(caps_of(environment), base_duration_s=self.profile().base_duration_s,
                              profile=self.profile_name)

    _held_s: float = 0.0  # the last hold read: a file being replaced keeps the shape where it was

    def held_s(self, environment: Environment) -> float:
        """Seconds the suite run's hold file (--hold-file) has stopped this shape's clock."""
        opts = environment.parsed_options
        path = getattr(opts, "hold_file", "") if opts is not None else ""
        if not path:
            return 0.0
        try:
            max_hold = float(getattr(opts, "max_hold", 0) or 0)
            state = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return 0.0  # no fault has overrun yet
        except (OSError, ValueError):
            return self._held_s
        self._held_s = seconds_held(state, time.time(), max_hold)
        return self._held_s

    def tick(self) -> Tick:
        assert self.runner is not None
        environment = self.runner.environment
        elapsed = float(self.get_run_time()) - self.held_s(environment)  # type: ignore[no-untyped-call, unused-ignore]
        return users_at(self.profile(), caps_of(environment), elapsed, self.duration_s(environment))


_sequence = itertools.count(1)


def _rng(environment: Environment) -> random.Random:
    seed = getattr(environment.parsed_options, "mix_seed", "") if environment.parsed_options else ""
    return random.Random(f"{seed}-{next(_sequence)}") if seed else random.Random()


def _time_factor(environment: Environment) -> float:
    return caps_of(environment).time_factor if environment.parsed_options else 1.0


def _fixed_think_time(environment: Environment) -> float | None:
    opts = environment.parsed_options
    return parse_think_time(getattr(opts, "think_time", None)) if opts else None


class WorkflowSubmitter(FastHttpUser):
    """A developer submitting workflows to the platform's HTTP API, thinking between them."""

    abstract = True  # a locustfile exposes the class it wants through target_user_class()

    def on_start(self) -> None:
        opts = self.environment.parsed_options
        # belt and braces: the init listener has checked already
        check_host(self.host, split_list(getattr(opts, "allowed_hosts", "") if opts else ""))
        self.rng = _rng(self.environment)
        self.factor = _time_factor(self.environment)
        self.fixed_think = _fixed_think_time(self.environment)
        self.path = (getattr(opts, "submit_path", "") if opts else "") or "/workflows"
        template_file = getattr(opts, "payload_template", "") if opts else ""
        self.template: Any = json.loads(Path(template_file).read_text()) if template_file else None
        self.status_path = (getattr(opts, "await_result", "") if opts else "") or ""

    def wait_time(self) -> float:
        if self.fixed_think is not None:
            return self.fixed_think
        return think_time(self.rng, self.factor)

    @task
    def submit_workflow(self) -> None:
        plan = plan_workflow(choose_size(self.rng), self.rng, self.factor)
        body = plan.payload()
        if self.template is not None:
            body = render_template(self.template, template_values(plan, f"wf-{self.rng.getrandbits(40):010x}",
                                                                  int(time.time() * 1000)))
        name = f"submit {plan.size}"
        workflow_id = ""
        with self.client.post(self.path, json=body, name=name, catch_response=True) as response:
            if response.status_code in (200, 201, 202):
                response.success()
                workflow_id = _answer_id(response.text)
            elif response.status_code in (429, 503):
                response.failure(f"queue full or unavailable: HTTP {response.status_code}")
            else:
                response.failure(f"HTTP {response.status_code}")
        if self.status_path and workflow_id:
            self._await_result(workflow_id, sum(s.wall_s for s in plan.stages))

    def _await_result(self, workflow_id: str, planned_s: float) -> None:
        """Poll the workflow's status until it ends. Gives up (silently: the run's criteria judge the
        platform, not the wait) after three times its planned length plus ten minutes of real time
        for the queue, and never sooner than a minute of wall-clock time."""
        path = self.status_path.replace("{id}", workflow_id)
        every = max(1.0, POLL_EVERY_S / self.factor)
        deadline = time.monotonic() + max(60.0, 3 * planned_s + 600.0 / self.factor)
        while time.monotonic() < deadline:
            time.sleep(every)  # gevent-patched: yields to the other users
            with self.client.get(path, name="workflow result", catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"status HTTP {response.status_code}")
                    return
                state = _answer_field(response.text, "state")
                if state == "completed":
                    response.success()
                    return
                if state == "failed":
                    response.failure(f"workflow failed: {_answer_field(response.text, 'reason')}"[:200])
                    return
                response.success()


POLL_EVERY_S = 60.0  # real-cluster seconds between a waiting user's status polls


def _answer_id(text: str) -> str:
    return _answer_field(text, "id")


def _answer_field(text: str, key: str) -> str:
    try:
        value = json.loads(text).get(key, "")
    except (ValueError, AttributeError):
        return ""
    return str(value) if value is not None else ""


class KubernetesWorkflowCreator(User):
    """A developer whose workflows are Kubernetes objects, created from a template."""

    abstract = True

    def on_start(self) -> None:
        # Imported here, after Locust's monkey-patching, as docs/libraries.md requires.
        import yaml
        from kubernetes import config, dynamic
        from kubernetes.client import ApiClient

        context = check_context(os.environ.get(ENV_K8S_CONTEXT),
                                split_list(os.environ.get(ENV_ALLOWED_CONTEXTS)))
        self.namespace = os.environ[ENV_K8S_NAMESPACE]
        self.template = yaml.safe_load(Path(os.environ[ENV_K8S_TEMPLATE]).read_text())
        api_client: ApiClient = config.new_client_from_config(context=context)  # type: ignore[no-untyped-call, unused-ignore]
        client = dynamic.DynamicClient(api_client)  # type: ignore[no-untyped-call, unused-ignore]
        self.resource = client.resources.get(api_version=self.template["apiVersion"],
                                             kind=self.template["kind"])
        self.rng = _rng(self.environment)
        self.factor = _time_factor(self.environment)
        self.fixed_think = _fixed_think_time(self.environment)

    def wait_time(self) -> float:
        if self.fixed_think is not None:
            return self.fixed_think
        return think_time(self.rng, self.factor)

    @task
    def create_workflow(self) -> None:
        plan = plan_workflow(choose_size(self.rng), self.rng, self.factor)
        name = f"wf-{self.rng.getrandbits(40):010x}"
        body = render_template(self.template, template_values(plan, name, int(time.time() * 1000)))
        body.setdefault("metadata", {})["name"] = name
        from kubernetes.client.exceptions import ApiException

        with self.environment.events.request.measure("k8s-create", f"create {plan.size}"):
            try:
                self.resource.create(body=body, namespace=self.namespace)
            except ApiException as error:  # one short line per failure, not a traceback
                raise KubernetesCreateFailed(f"HTTP {error.status} {error.reason}: "
                                             f"{_api_message(error.body)}") from None


class KubernetesCreateFailed(Exception):
    pass


def _api_message(body: object) -> str:
    try:
        return str(json.loads(str(body)).get("message", ""))[:300]
    except (ValueError, AttributeError):
        return str(body)[:300]


def target_user_class() -> type[User]:
    """The user class of the chosen target (env VALIDATOR_LOAD_TARGET), made concrete for Locust."""
    target = os.environ.get(ENV_TARGET, "http").strip() or "http"
    base: type[User] = KubernetesWorkflowCreator if target == "kubernetes" else WorkflowSubmitter
    return type("WorkflowUser", (base,), {"abstract": False, "__module__": base.__module__})
