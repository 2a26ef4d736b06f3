"""
E26 (OSE Python Manual pp. 26-27): jobs of the three priorities, a Job
with stored arguments, an argument override, and a cancelled job.

Run with ``python examples/event_system.py``.  It prints the order the
dispatcher ran the jobs in and returns when no jobs remain:

    priority
    standard
    bye
    override
    idle

``twistd -n netsvc --config examples/event_system.py`` prints the same
into the twistd log.  There ``Dispatcher().run()`` returns at once and
twistd runs the reactor, which would go on with nothing to do, so a last
idle job stops it and twistd exits.
"""

import netsvc_twisted as netsvc


def callback(message="hello"):
    print(message, flush=True)


dispatcher = netsvc.Dispatcher()

# Scheduled lowest priority first: the dispatcher still runs them by priority.
dispatcher.schedule(lambda: callback("idle"), netsvc.IDLE_JOB)
dispatcher.schedule(lambda: callback("standard"), netsvc.STANDARD_JOB)
dispatcher.schedule(lambda: callback("priority"), netsvc.PRIORITY_JOB)

# A Job remembers its arguments ...
job = netsvc.Job(callback, ("bye",))
job.schedule(netsvc.STANDARD_JOB)

# ... which schedule() can replace.
other = netsvc.Job(callback, ("bye",))
other.schedule(netsvc.STANDARD_JOB, ("override",))

# A cancelled job never runs, even though it is already queued.
cancelled = netsvc.Job(callback, ("never printed",))
cancelled.schedule(netsvc.STANDARD_JOB)
cancelled.cancel()


def end():
    # Run as a program, run() below returns by itself once no jobs remain
    # (this one included); under twistd it has returned already: stop.
    if not dispatching:
        dispatcher.stop()


dispatcher.schedule(end, netsvc.IDLE_JOB)

# Only jobs are used, so run() returns once they have all run.
dispatching = True
dispatcher.run()
dispatching = False
