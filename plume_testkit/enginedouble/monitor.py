"""The engine's gRPC services as the program's process sees them: a ResourceMonitor that hands
every registration to the run's ``Deployment``, and an Engine service for logs and the root
resource. Invokes, reads of existing resources and transforms are refused."""

from __future__ import annotations

import logging
import threading
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, resource_pb2, resource_pb2_grpc

from .deployment import Deployment
from .wire import from_struct

__all__ = ["STACK_TYPE", "EngineServicer", "Monitor", "MonitorServicer", "stack_urn"]

STACK_TYPE = "pulumi:pulumi:Stack"


def stack_urn(project: str, stack: str) -> str:
    """The URN of the root stack resource."""
    return f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"


class Monitor(pulumi_mocks.MockMonitor):
    """The engine's resource monitor, as the SDK sees it: forwards registrations to the run."""

    def __init__(self, deployment: Deployment, project: str, stack: str) -> None:
        super().__init__(_NoMocks())
        self.deployment = deployment
        self.project = project
        self.stack = stack
        self.stack_urn = stack_urn(project, stack)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them (the root stack is not part of the type chain)."""
        if parent and parent != self.stack_urn:
            qualified = parent.split("::")[2]
            type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        parent = "" if request.parent == self.stack_urn else request.parent
        return self.deployment.register(request, urn, parent)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if request.urn == self.stack_urn:
            self.deployment.stack_outputs = from_struct(request.outputs)
        return empty_pb2.Empty()


class _NoMocks(pulumi_mocks.Mocks):
    """Invokes and reads of existing resources are not part of this double."""

    def call(self, args: pulumi_mocks.MockCallArgs) -> tuple[dict[str, Any], None]:
        raise NotImplementedError(f"invoke {args.token} is not supported by the engine double")

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        raise NotImplementedError(f"reading {args.typ} is not supported by the engine double")


class MonitorServicer(resource_pb2_grpc.ResourceMonitorServicer):
    """The ResourceMonitor gRPC service over ``Monitor`` (what the program's process calls)."""

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def _unsupported(self, context: grpc.ServicerContext, what: str) -> Any:
        context.abort(
            grpc.StatusCode.UNIMPLEMENTED, f"{what} is not supported by the engine double"
        )

    def GetDeploymentInfo(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.monitor.GetDeploymentInfo(request)  # type: ignore[no-untyped-call]

    def SupportsFeature(self, request: Any, context: grpc.ServicerContext) -> Any:
        # As the mock monitor: no outputValues, so inputs arrive as plain values.
        return resource_pb2.SupportsFeatureResponse(hasSupport=request.id != "outputValues")

    def RegisterResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.monitor.RegisterResource(request)

    def RegisterResourceOutputs(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.monitor.RegisterResourceOutputs(request)

    def RegisterPackage(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.monitor.RegisterPackage(request)  # type: ignore[no-untyped-call]

    def SignalAndWaitForShutdown(self, request: Any, context: grpc.ServicerContext) -> Any:
        return empty_pb2.Empty()

    def RegisterResourceHook(self, request: Any, context: grpc.ServicerContext) -> Any:
        return empty_pb2.Empty()

    def RegisterErrorHook(self, request: Any, context: grpc.ServicerContext) -> Any:
        return empty_pb2.Empty()

    def RegisterStackTransform(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, "transforms")

    def RegisterStackInvokeTransform(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, "invoke transforms")

    def Invoke(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, f"invoke {request.tok}")

    def Call(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, f"call {request.tok}")

    def ReadResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._unsupported(context, f"reading {request.type}")


class EngineServicer(engine_pb2_grpc.EngineServicer):
    """The Engine gRPC service: program log messages go to the engine's logger."""

    _LEVELS = {
        engine_pb2.DEBUG: logging.DEBUG,
        engine_pb2.INFO: logging.INFO,
        engine_pb2.WARNING: logging.WARNING,
        engine_pb2.ERROR: logging.ERROR,
    }

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self.root = ""
        self.lock = threading.Lock()

    def Log(self, request: Any, context: grpc.ServicerContext) -> Any:
        self.logger.log(self._LEVELS.get(request.severity, logging.INFO), request.message)
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            return engine_pb2.GetRootResourceResponse(urn=self.root)

    def SetRootResource(self, request: Any, context: grpc.ServicerContext) -> Any:
        with self.lock:
            self.root = request.urn
        return engine_pb2.SetRootResourceResponse()
