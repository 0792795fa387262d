"""V1D3 as a live dispatch service: the round contract over HTTP, learning from served rounds,
crash-safe (``v1d3 serve``; the README's "Run it as a service").

:mod:`~v1d3.service.wire` reads request bodies, :mod:`~v1d3.service.state` holds the learned
state and the requests that change it, :mod:`~v1d3.service.journal` makes it durable,
:mod:`~v1d3.service.core` ties them together, :mod:`~v1d3.service.app` is the web layer and
:mod:`~v1d3.service.client` the simulator's side (``v1d3 simulate --dispatch-url``).
"""
