"""
OSE programs port with ``import netsvc_twisted as netsvc``: every public
name they use must be there.
"""

import netsvc_twisted as netsvc

OSE_NAMES = """
HttpDaemon HttpServer HttpServlet ErrorServlet EchoServlet RedirectServlet
RedirectServer FileServlet FileServer FilePlugin PythonPlugin ModuleCache
FormServlet WsgiServlet WsgiServer RpcGateway RpcServlet HttpBridge Service
LocalService Logger Dispatcher Job Agent Monitor ServiceFailure AddressInvalid
ServiceUnavailable TransportFailure AuthenticationFailure Boolean Binary Date
DateTime Time Duration Opaque logException exceptionDetails exceptionDescription
terminate lookupEnviron mergeEnviron expandEnviron uniqueId
IDLE_JOB STANDARD_JOB PRIORITY_JOB CONNECTION_BLOCKED CONNECTION_CLEARED
CONNECTION_BACKLOG REDIRECT_PERMANENT REDIRECT_TEMPORARY SHUTDOWN_PENDING
SHUTDOWN_ARRIVED CALLBACK_TRANSIENT CALLBACK_PERSISTENT SOCKET_POLLIN
SOCKET_POLLPRI SOCKET_POLLOUT SOCKET_POLLERR SOCKET_POLLHUP SOCKET_POLLNVAL
LOG_EMERGENCY LOG_ALERT LOG_CRITICAL LOG_ERROR LOG_WARNING LOG_NOTICE LOG_INFO
LOG_DEBUG SERVICE_NAME SERVICE_ADDRESS SERVICE_REGISTRY SERVICE_GROUP
SERVICE_AVAILABLE SERVICE_WITHDRAWN SERVICE_HIDDEN SERVICE_VISIBLE
""".split()


def test_every_ose_name_is_exported():
    missing = [name for name in OSE_NAMES if not hasattr(netsvc, name)]
    assert missing == []
    assert set(OSE_NAMES) <= set(netsvc.__all__)


def test_constant_values():
    assert (netsvc.IDLE_JOB, netsvc.STANDARD_JOB, netsvc.PRIORITY_JOB) == (0, 1, 2)
    assert (netsvc.CONNECTION_BLOCKED, netsvc.CONNECTION_CLEARED,
            netsvc.CONNECTION_BACKLOG) == (0, 1, 2)
    assert (netsvc.REDIRECT_PERMANENT, netsvc.REDIRECT_TEMPORARY) == (301, 302)
    assert (netsvc.LOG_EMERGENCY, netsvc.LOG_DEBUG) == (0, 7)
    assert (netsvc.SERVER_APPLICATION_ERROR, netsvc.CLIENT_SERVICE_UNAVAILABLE) == (57, 46)
    assert netsvc.SERVER_APPLICATION_ERROR_MESSAGE == "Application Error"
