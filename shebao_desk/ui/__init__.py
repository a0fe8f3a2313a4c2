"""The Qt user interface. Only this package imports Qt; the rules stay in the core."""
