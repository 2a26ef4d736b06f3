"""
netsvc_twisted: the OSE ``netsvc`` HTTP servlet API on Twisted.

OSE programs port with ``import netsvc_twisted as netsvc``: every public
OSE name is exported here; the implementation lives in private modules.
"""

from netsvc_twisted._constants import *  # noqa: F401,F403
from netsvc_twisted._agent import Agent
from netsvc_twisted._daemon import HttpDaemon
from netsvc_twisted._dispatcher import Dispatcher, Job, terminate
from netsvc_twisted._environ import expandEnviron, lookupEnviron, mergeEnviron, uniqueId
from netsvc_twisted._errors import ResponseStateError
from netsvc_twisted._fileserver import FileServer
from netsvc_twisted._fileservlet import FileServlet
from netsvc_twisted._formdata import UploadedFile
from netsvc_twisted._formservlet import FormServlet
from netsvc_twisted._interfaces import IHttpServer
from netsvc_twisted._logging import (
    Logger,
    exceptionDescription,
    exceptionDetails,
    logException,
)
from netsvc_twisted._modulecache import ModuleCache
from netsvc_twisted._monitor import Monitor
from netsvc_twisted._plugins import FilePlugin, PythonPlugin
from netsvc_twisted._netrpc_servlet import RpcServlet
from netsvc_twisted._resource import ServletResource
from netsvc_twisted._rpcfailure import (
    AddressInvalid,
    AuthenticationFailure,
    ServiceFailure,
    ServiceUnavailable,
    TransportFailure,
)
from netsvc_twisted._rpcgateway import HttpBridge, RpcGateway
from netsvc_twisted._rpctypes import Binary, Boolean, Date, DateTime, Duration, Opaque, Time
from netsvc_twisted._server import HttpServer, RedirectServer
from netsvc_twisted._servlet import HttpServlet
from netsvc_twisted._service import LocalService, Service
from netsvc_twisted._servlets import EchoServlet, ErrorServlet, RedirectServlet
from netsvc_twisted._status import statusText
from netsvc_twisted._wsgi import WsgiServer, WsgiServlet

__all__ = sorted(name for name in dir() if not name.startswith("_"))
