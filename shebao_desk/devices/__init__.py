"""Card readers and cards: connection → APDU protocol → social security card session.

Only :mod:`shebao_desk.devices.pcsc` imports pyscard; everything above it works
on the one-method :class:`~shebao_desk.devices.connection.Connection`.
"""
