#!/usr/bin/env python3
"""Starts moto's standalone server after patching three Step Functions bugs and one DynamoDB race of moto 5.2.1.

Why: shardline's control plane is Step Functions, and locally it runs on moto (no Docker, no
LocalStack here). Unpatched, moto 5.2.1 executes only the first execution of a state machine
and mangles some integrations (see /work/shared/LOCAL-AWS.md):

1. Every StartExecution after the first fails with "cannot pickle '_thread.RLock'"
   (getmoto/moto#10077): the parser backend deep-copies the StateMachine, and with it every
   earlier execution and its worker thread. Fix: a __deepcopy__ that leaves executions out.
2. StartExecution without `name` gives an ARN ending ":None" (and a second one collides with
   the first). Fix: default the name to a UUID, as AWS does.
3. lowerCamel APIs (ecs:*, states:startExecution, aws-sdk:ecs:*) fail with cause 'Cluster'
   (getmoto/moto#10076): parameters written in the ASL's PascalCase are handed to boto3
   unchanged, and its serializer does not know "Cluster" (only "cluster"). Fix: normalise
   parameters and responses with botocore's operation model, which the parser ships helpers
   for (_to_boto_request / _from_boto_response) but never calls; timestamps in responses become
   ISO strings (DescribeExecution could not encode them otherwise).
4. DynamoDB item writes are not atomic: the threaded server runs requests side by side and an
   `ADD` is a read-modify-write in Python, so concurrent transactions on one item lose updates
   (16 concurrent TransactWriteItems each adding 1 to a counter ended at 12 in one round of
   ten). DynamoDB applies each item write atomically. Fix: one DynamoDB request at a time.

Usage: python3 moto_launcher.py -H 127.0.0.1 -p PORT   (same flags as `python3 -m moto.server`)
Exit code 3: moto is missing or not 5.x.
"""
import copy
import datetime
import importlib.abc
import importlib.machinery
import sys
import uuid

MOTO_MISSING = "python3 with moto 5.x is required; or pass --endpoint for LocalStack"


def _require_moto():
    try:
        import moto  # noqa: F401
        import moto.server  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install
        sys.stderr.write(f"{MOTO_MISSING} ({exc!r})\n")
        sys.exit(3)
    if not moto.__version__.startswith("5."):
        sys.stderr.write(f"{MOTO_MISSING} (found moto {moto.__version__})\n")
        sys.exit(3)


def _warn(message):
    sys.stderr.write(f"moto_launcher: {message}\n")


def patch_state_machine_deepcopy():
    """(1) Copy a state machine without its executions (they hold locks and threads)."""
    from moto.stepfunctions.models import StateMachineInstance

    shared = {"backend", "versions", "aliases", "latest_version"}

    def __deepcopy__(self, memo):
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for key, value in self.__dict__.items():
            if key == "executions":
                clone.__dict__[key] = []
            elif key in shared:
                clone.__dict__[key] = value
            else:
                clone.__dict__[key] = copy.deepcopy(value, memo)
        return clone

    StateMachineInstance.__deepcopy__ = __deepcopy__


def patch_default_execution_name():
    """(2) An execution started without a name gets a UUID, as on AWS."""
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    original = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, *args, **kwargs):
        return original(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kwargs)

    StepFunctionsParserBackend.start_execution = start_execution


def patch_parameter_normalisation():
    """(3) Map ASL parameter/response keys to and from the API's own casing via botocore."""
    import botocore.session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    for helper in ("_to_boto_request", "_from_boto_response", "_get_boto_service_name", "_get_boto_service_action"):
        if not hasattr(StateTaskService, helper):
            _warn(f"StateTaskService.{helper} not found; parameter normalisation not patched")
            return

    session = botocore.session.get_session()
    operations = {}  # (service, "listclusters") -> OperationModel | None

    def operation_model(service, action):
        key = (service, action.replace("_", "").lower())
        if key not in operations:
            model = None
            try:
                service_model = session.get_service_model(service)
                by_lower = {name.lower(): name for name in service_model.operation_names}
                if key[1] in by_lower:
                    model = service_model.operation_model(by_lower[key[1]])
            except Exception as exc:  # unknown service: leave the parameters as written
                _warn(f"no botocore model for {service}.{action}: {exc!r}")
            operations[key] = model
        return operations[key]

    def _normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        model = operation_model(
            self._get_boto_service_name(boto_service_name=boto_service_name),
            self._get_boto_service_action(service_action_name=service_action_name),
        )
        if model is not None and model.input_shape is not None and isinstance(parameters, dict):
            self._to_boto_request(parameters, model.input_shape)

    def _normalise_response(self, response, boto_service_name=None, service_action_name=None):
        model = operation_model(
            self._get_boto_service_name(boto_service_name=boto_service_name),
            self._get_boto_service_action(service_action_name=service_action_name),
        )
        if model is not None and model.output_shape is not None:
            self._from_boto_response(response, model.output_shape)
        _datetimes_to_iso(response)

    def _datetimes_to_iso(value):
        # boto3 parses timestamps (e.g. StartDate of states:startExecution) into datetimes, which
        # DescribeExecution's plain json.dumps cannot encode; AWS shows them as ISO strings.
        if isinstance(value, datetime.datetime):
            return value.isoformat()
        if isinstance(value, dict):
            for key, item in value.items():
                value[key] = _datetimes_to_iso(item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                value[index] = _datetimes_to_iso(item)
        return value

    # Subclasses (sfn, lambda, sqs) override these and call super(), so patching the base is enough.
    StateTaskService._normalise_parameters = _normalise_parameters
    StateTaskService._normalise_response = _normalise_response


def patch_serialize_dynamodb():
    """(4) One DynamoDB request at a time, so that item writes are atomic as on AWS."""
    import threading
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action
    lock = threading.Lock()

    def call_action(self):
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action


# Each patch runs right after moto imports the module it changes: importing the Step Functions
# parser up front would add about a second to every server start, also when it is never used.
PATCHES = {
    "moto.stepfunctions.models": patch_state_machine_deepcopy,
    "moto.stepfunctions.parser.models": patch_default_execution_name,
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service": patch_parameter_normalisation,
    "moto.dynamodb.responses": patch_serialize_dynamodb,
}


def _apply(patch):
    try:
        patch()
    except Exception as exc:  # a newer moto may have moved things (or fixed the bug)
        _warn(f"{patch.__name__} not applied: {exc!r}")


class _PatchAfterImport(importlib.abc.MetaPathFinder):
    """Wraps the loader of each module in PATCHES so that its patch runs once it is loaded."""

    def __init__(self, patches):
        self.pending = dict(patches)

    def find_spec(self, name, path, target=None):
        patch = self.pending.pop(name, None)
        if patch is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module):
            load(module)
            _apply(patch)

        spec.loader.exec_module = exec_module
        return spec


def main(argv):
    _require_moto()
    pending = {name: patch for name, patch in PATCHES.items() if name not in sys.modules}
    for name, patch in PATCHES.items():
        if name in sys.modules:
            _apply(patch)
    sys.meta_path.insert(0, _PatchAfterImport(pending))
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
