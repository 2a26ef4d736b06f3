# -*- test-case-name: tests.test_exports -*-
"""
netsvc_twisted: the OSE ``netsvc`` HTTP servlet API on Twisted.

OSE programs port with ``import netsvc_twisted as netsvc``: every public
OSE name is exported here; the implementation lives in private modules.
"""

from netsvc_twisted._constants import *  # noqa: F401,F403
from netsvc_twisted._events._agent import Agent
from netsvc_twisted._http._budget import MemoryBudget, bodyMemory
from netsvc_twisted._http._daemon import HttpDaemon
from netsvc_twisted._events._dispatcher import Dispatcher
from netsvc_twisted._events._jobs import Job
from netsvc_twisted._events._loop import terminate
from netsvc_twisted._events._environ import expandEnviron, lookupEnviron, mergeEnviron, uniqueId
from netsvc_twisted._errors import ResponseStateError
from netsvc_twisted._files._server import FileServer
from netsvc_twisted._files._servlet import FileServlet
from netsvc_twisted._forms._fields import UploadedFile
from netsvc_twisted._forms._servlet import FormServlet
from netsvc_twisted._interfaces import IHttpServer
from netsvc_twisted._events._logging import (
    Logger,
    exceptionDescription,
    exceptionDetails,
    logException,
)
from netsvc_twisted._files._modulecache import ModuleCache
from netsvc_twisted._rpc._monitor import Monitor
from netsvc_twisted._files._plugins import FilePlugin, PythonPlugin
from netsvc_twisted._rpc._netrpc_servlet import RpcServlet
from netsvc_twisted._http._resource import ServletResource
from netsvc_twisted._rpc._failure import (
    AddressInvalid,
    AuthenticationFailure,
    ServiceFailure,
    ServiceUnavailable,
    TransportFailure,
)
from netsvc_twisted._rpc._gateway import HttpBridge, RpcGateway
from netsvc_twisted._rpc._types import Binary, Boolean, Date, DateTime, Duration, Opaque, Time
from netsvc_twisted._http._server import HttpServer, RedirectServer
from netsvc_twisted._http._servlet import HttpServlet
from netsvc_twisted._rpc._service import LocalService, Service
from netsvc_twisted._http._servlets import EchoServlet, ErrorServlet, RedirectServlet
from netsvc_twisted._http._status import statusText
from netsvc_twisted._hosting._wsgi import WsgiServer, WsgiServlet

__all__ = sorted(name for name in dir() if not name.startswith("_"))
