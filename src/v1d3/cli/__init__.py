"""The ``v1d3`` command line (typer): ``simulate``, ``evaluate``, ``train``, ``check``,
``scenarios``, ``policies``, ``convert-trips``, ``kdd-grid``, ``export-agent``.

One module per command group, the options shared by the commands mapped onto the typed configs,
and the argument parsing of the scripts in ``scripts/`` and ``bench/``. Every user error is one
line on stderr and exit code 2.
"""
