"""The papers the applicant carries away: business form, one-time notice, receipt.

A data model with no reportlab import (:mod:`model`), a layout loaded from
``resources/documents/layout.toml`` (:mod:`layout`), and a renderer built from
platypus flowables (:mod:`render`). No Qt here.
"""
