"""The embedded AWS control plane (patched moto) and the service that hosts the local data plane.

Modules: :mod:`.moto_compat` (moto 5.2 gap patches), :mod:`.events` (control-plane event bus),
:mod:`.service` (the WSGI service and its components), :mod:`.server` (process entry point),
:mod:`.process` (start/stop/status of the background process), :mod:`.testing` (fixtures).
Importing this package does not import moto.
"""

DEFAULT_PORT = 4566
