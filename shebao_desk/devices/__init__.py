"""The drivers: PC/SC card readers and cards, the resident ID card reader, printers, scanners.

Cards go connection → APDU protocol → social security card session (yubikit's layers). Only
:mod:`shebao_desk.devices.pcsc` imports pyscard; everything above it works on the one-method
:class:`~shebao_desk.devices.connection.Connection`. The simulated devices (the virtual card, the
ID card reader on a pty) are in :mod:`simulators`; their commands in ``shebao_desk/commands/``.
"""
